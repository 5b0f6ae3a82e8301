// One bench node in its own process: opens a data root, runs a MeshNode on 127.0.0.1, and answers the
// parent over IPC: write datagrams (paced or in a burst) and report when each datagram was written or
// applied, as absolute high-resolution times (performance.timeOrigin + now) comparable across processes.
import fs from 'node:fs';
import inspector from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { Mesh } from '../src/mesh/mesh.js';
import { MeshNode } from '../src/net/node.js';
import { multiaddr } from '@multiformats/multiaddr';

type Command =
  | { cmd: 'start'; bootstrap: string[]; listen?: string[]; announce?: string[] }
  | { cmd: 'write'; count: number; paceMs: number; tag: string }
  | { cmd: 'report' }
  | { cmd: 'wait'; ids: string[] }
  | { cmd: 'profile'; file?: string }
  | { cmd: 'until'; total: number }
  | { cmd: 'pull'; peer: string }
  | { cmd: 'connect'; address: string }
  | { cmd: 'stop' };

const now = () => performance.timeOrigin + performance.now();
const root = process.argv[2]!;
const mesh = await Mesh.open(root, { render: 'deferred' });
let node: MeshNode | undefined;
const applied = new Map<string, number>();
const arrived = new Map<string, number>();
/** a parent waiting for these datagrams to be applied here (told by event: polling would load the node) */
let waiting: { missing: Set<string>; done: () => void } | undefined;
mesh.subscribe((env, origin) => {
  if (origin !== 'remote') return;
  applied.set(env.id, now());
  if (waiting?.missing.delete(env.id) && waiting.missing.size === 0) waiting.done();
});

const send = (msg: unknown) => process.send!(msg);
/** ms from each write call to its durability on the writer */
const durable: number[] = [];
let profiler: inspector.Session | undefined;

async function write(count: number, paceMs: number, tag: string): Promise<Record<string, number>> {
  const started: Record<string, number> = {};
  durable.length = 0;
  const writes: Promise<void>[] = [];
  const t0 = now();
  for (let i = 0; i < count; i++) {
    if (paceMs > 0) {
      const due = t0 + i * paceMs;
      while (now() < due) await new Promise((r) => setTimeout(r, Math.max(0, due - now() - 0.2)));
    }
    const at = now();
    writes.push(mesh.update(`companies/co-${i % 500}`, [['s', 'note', `${tag} ${i}`]]).then((env) => {
      started[env.id] = at;
      durable.push(now() - at);
    }));
  }
  await Promise.all(writes);
  return started;
}

process.on('message', (m: Command) => {
  void (async () => {
    try {
      switch (m.cmd) {
        case 'start':
          node = await MeshNode.start(mesh, {
            bootstrap: m.bootstrap,
            listen: m.listen,
            announce: m.announce,
            dht: false,
            refreshMs: 0,
            renderDelayMs: Number(process.env.BENCH_RENDER_MS ?? 500),
            onMessage: (envs) => {
              const at = now();
              for (const e of envs) arrived.set(e.id, at);
            },
          });
          send({ ok: true, address: node.addresses()[0], peerId: node.peerId });
          break;
        case 'write':
          send({ ok: true, started: await write(m.count, m.paceMs, m.tag), durable });
          break;
        case 'until': {
          // resolves when this node holds `total` datagrams, with the time it first did
          while (mesh.store.index.size < m.total) await new Promise((r) => setTimeout(r, 5));
          await mesh.refresh(); // the last transaction has committed: everything is durable
          send({ ok: true, at: now() });
          break;
        }
        case 'connect':
          await node!.libp2p.dial(multiaddr(m.address));
          send({ ok: true });
          break;
        case 'pull':
          send({ ok: true, status: await node!.sync.pull(m.peer) });
          break;
        case 'wait': {
          // replies once every listed datagram is applied here, with when each arrived and was applied
          const missing = new Set(m.ids.filter((id) => !applied.has(id)));
          if (missing.size) await new Promise<void>((done) => (waiting = { missing, done }));
          waiting = undefined;
          send({ ok: true, applied: Object.fromEntries(m.ids.map((id) => [id, applied.get(id)])), arrived: Object.fromEntries(m.ids.map((id) => [id, arrived.get(id)])) });
          break;
        }
        case 'profile':
          // profiling tool: starts the CPU profiler, or (with a file) stops it and writes the profile there
          if (!m.file) {
            profiler ??= new inspector.Session();
            profiler.connect();
            await profiler.post('Profiler.enable');
            await profiler.post('Profiler.start');
          } else {
            const { profile } = await profiler!.post('Profiler.stop');
            fs.writeFileSync(m.file, JSON.stringify(profile));
            profiler!.disconnect();
          }
          send({ ok: true });
          break;
        case 'report':
          send({
            ok: true,
            stats: node?.stats,
            topic: node?.topicPeers().length ?? 0,
            cpu: process.cpuUsage(),
            sync: node ? (await node.peerReport()).map((p) => p.sync.totals) : [],
          });
          break;
        case 'stop':
          await node?.stop();
          process.send!({ ok: true }, () => process.exit(0));
          break;
      }
    } catch (err) {
      send({ ok: false, error: (err as Error).stack });
    }
  })();
});
// the bench process went away (finished or failed): never outlive it
process.on('disconnect', () => process.exit(0));
send({ ok: true, ready: true });
