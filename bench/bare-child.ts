// A bare libp2p node in a child process, driven over IPC like net-child.ts: the same transport stack and
// gossipsub settings as a cocli-mesh node (transportStack, gossipService), and none of cocli-mesh's own
// work (no datagrams, validation, storage or rendering). The network bench measures it beside the real
// nodes, so the cost of the libp2p stack alone is known on the same machine in the same run.
import '../src/net/polyfill.js';
import { createLibp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { multiaddr } from '@multiformats/multiaddr';
import { gossipService, transportStack } from '../src/net/node.js';

type Command =
  | { cmd: 'start'; bootstrap: string[] }
  | { cmd: 'report' }
  | { cmd: 'publish'; count: number; paceMs: number; bytes: number; tag: number }
  | { cmd: 'wait'; ids: string[] }
  | { cmd: 'stop' };

const TOPIC = 'bare-bench';
const now = () => performance.timeOrigin + performance.now();
const send = (msg: unknown) => process.send!(msg);
const arrived = new Map<string, number>();
let waiting: { missing: Set<string>; done: () => void } | undefined;

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  ...transportStack(),
  services: { identify: identify(), pubsub: gossipService() },
});
const pubsub = node.services.pubsub;
pubsub.subscribe(TOPIC);
pubsub.addEventListener('message', (event) => {
  const id = idOf(event.detail.data);
  arrived.set(id, now());
  if (waiting?.missing.delete(id) && waiting.missing.size === 0) waiting.done();
});

/** a payload's id: its first 8 bytes (tag, then sequence number), as hex */
function idOf(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, 8).toString('hex');
}

process.on('message', (m: Command) => {
  void (async () => {
    try {
      switch (m.cmd) {
        case 'start':
          for (const address of m.bootstrap) await node.dial(multiaddr(address));
          send({ ok: true, address: node.getMultiaddrs()[0]!.toString() });
          break;
        case 'report':
          send({ ok: true, topic: pubsub.getSubscribers(TOPIC).length });
          break;
        case 'publish': {
          const started: Record<string, number> = {};
          const sends: Promise<unknown>[] = [];
          const t0 = now();
          for (let i = 0; i < m.count; i++) {
            if (m.paceMs > 0) {
              const due = t0 + i * m.paceMs;
              while (now() < due) await new Promise((r) => setTimeout(r, Math.max(0, due - now() - 0.2)));
            }
            const payload = new Uint8Array(m.bytes);
            const view = new DataView(payload.buffer);
            view.setUint32(0, m.tag);
            view.setUint32(4, i);
            started[idOf(payload)] = now();
            sends.push(pubsub.publish(TOPIC, payload));
          }
          await Promise.all(sends);
          send({ ok: true, started });
          break;
        }
        case 'wait': {
          const missing = new Set(m.ids.filter((id) => !arrived.has(id)));
          if (missing.size) await new Promise<void>((done) => (waiting = { missing, done }));
          waiting = undefined;
          send({ ok: true, arrived: Object.fromEntries(m.ids.map((id) => [id, arrived.get(id)!])) });
          break;
        }
        case 'stop':
          await node.stop();
          send({ ok: true });
          process.exit(0);
      }
    } catch (err) {
      send({ ok: false, error: (err as Error).message });
    }
  })();
});
send({ ok: true });
