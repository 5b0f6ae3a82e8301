// Propagation bench: 5 nodes, each its own process, fully meshed on 127.0.0.1. One node writes; latency is
// from the write call to "applied and durable" on every other node (p50, p99), paced (one write every
// 2 ms) and in a burst (10,000 writes at once: datagrams and messages per second delivered to all peers).
// Then the same topology with bare libp2p nodes (bare-child.ts): the stack's own cost, for comparison.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../src/mesh/mesh.js';
import { record } from './report.js';
import { scratchDir } from './scratch.js';
import { Child, percentile, stopAll } from './node-process.js';

/**
 * Starts the nodes in order, each knowing the ones before it (a full mesh), into `children` (so the caller
 * stops whatever started, even if a later one fails), and waits until each sees all the others on the topic.
 */
async function startFullMesh(spawns: (() => Promise<Child>)[], children: Child[]): Promise<void> {
  const addresses: string[] = [];
  for (const spawn of spawns) {
    const c = await spawn();
    children.push(c);
    addresses.push((await c.ask({ cmd: 'start', bootstrap: [...addresses] })).address as string);
  }
  const deadline = Date.now() + 30_000;
  while ((await Promise.all(children.map((c) => c.ask({ cmd: 'report' })))).some((r) => (r.topic as number) < spawns.length - 1)) {
    if (Date.now() > deadline) throw new Error(`the ${spawns.length} nodes did not form a full mesh`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Asks every receiver to wait for `ids` (datagram CIDs, or a bare node's message ids); their replies, or an error after 300 s. */
async function waitAll(receivers: Child[], ids: string[]): Promise<Record<string, unknown>[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('what was written did not reach every node within 300 s')), 300_000);
  });
  try {
    return await Promise.race([Promise.all(receivers.map((c) => c.ask({ cmd: 'wait', ids }))), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until every receiver has applied every written datagram; returns their arrival and apply times. */
async function allApplied(receivers: Child[], ids: string[]): Promise<{ applied: Record<string, number>[]; arrived: Record<string, number>[] }> {
  const replies = await waitAll(receivers, ids);
  return { applied: replies.map((r) => r.applied as Record<string, number>), arrived: replies.map((r) => r.arrived as Record<string, number>) };
}

export async function benchNetwork(opts: { quick?: boolean } = {}): Promise<void> {
  const nodes = 5;
  const paced = opts.quick ? 500 : 2000;
  const burst = opts.quick ? 2000 : 10_000;
  const base = scratchDir('cocli-mesh-bench-net-');
  const children: Child[] = [];
  try {
    const roots: string[] = [];
    for (let i = 0; i < nodes; i++) {
      const root = path.join(base, `node-${i}`);
      await Mesh.init(root, { name: `bench-${i}`, cluster: 'bench' });
      roots.push(root);
    }
    await startFullMesh(roots.map((root) => () => Child.spawn(root)), children);
    const [writer, ...receivers] = children as [Child, ...Child[]];

    // the companies exist everywhere first: the bench measures updates, not creating 500 folders
    const warm = (await writer.ask({ cmd: 'write', count: 500, paceMs: 0, tag: 'co' })).started as Record<string, number>;
    await allApplied(receivers, Object.keys(warm));
    // and a daemon runs for hours: one unmeasured paced round first, so that V8 has compiled the hot paths
    // (measured from cold, the compiler threads took about a third of each node's CPU in the paced round)
    const warmPaced = (await writer.ask({ cmd: 'write', count: paced, paceMs: 2, tag: 'warm' })).started as Record<string, number>;
    await allApplied(receivers, Object.keys(warmPaced));

    for (const [label, count, paceMs] of [['paced', paced, 2], ['burst', burst, 0]] as const) {
      const before = (await writer.ask({ cmd: 'report' })).stats as { messagesPublished: number };
      const wrote = await writer.ask({ cmd: 'write', count, paceMs, tag: label });
      const started = wrote.started as Record<string, number>;
      const durable = (wrote.durable as number[]).sort((x, y) => x - y);
      record('network', `${label} write to durable on the writer p50`, percentile(durable, 50), 'ms');
      record('network', `${label} write to durable on the writer p99`, percentile(durable, 99), 'ms');
      const ids = Object.keys(started);
      const { applied, arrived: arrivals } = await allApplied(receivers, ids);
      const after = (await writer.ask({ cmd: 'report' })).stats as { messagesPublished: number };
      const toArrival = ids.map((id) => Math.max(...arrivals.map((a) => a[id] ?? started[id]!)) - started[id]!).sort((x, y) => x - y);
      record('network', `${label} write to delivered (validated) on all p50`, percentile(toArrival, 50), 'ms');
      record('network', `${label} write to delivered (validated) on all p99`, percentile(toArrival, 99), 'ms');
      const latencies = ids.map((id) => Math.max(...applied.map((a) => a[id]!)) - started[id]!).sort((x, y) => x - y);
      const first = Math.min(...Object.values(started));
      const last = Math.max(...ids.map((id) => Math.max(...applied.map((a) => a[id]!))));
      const seconds = (last - first) / 1000;
      const messages = after.messagesPublished - before.messagesPublished;
      record('network', `${label} latency p50 (${count} writes, ${nodes} nodes)`, percentile(latencies, 50), 'ms');
      record('network', `${label} latency p99 (${count} writes, ${nodes} nodes)`, percentile(latencies, 99), 'ms');
      if (label === 'burst') {
        record('network', `burst datagrams delivered to all ${nodes - 1} peers`, count / seconds, 'datagrams/s');
        record('network', 'burst messages published', messages / seconds, 'messages/s');
        record('network', 'burst datagrams per message', count / Math.max(1, messages), 'datagrams');
      }
    }
  } finally {
    await stopAll(children);
  }
  await benchBareLibp2p(nodes, paced, opts.quick ? 1000 : 5000);
}

/**
 * The floor: the same 5-process topology running the same libp2p stack and gossipsub settings with none of
 * cocli-mesh's work (bare-child.ts). One message per write, of about one datagram's size: what the stack
 * alone costs on this machine, beside the figures above.
 */
async function benchBareLibp2p(nodes: number, paced: number, burst: number): Promise<void> {
  const children: Child[] = [];
  const script = fileURLToPath(new URL('./bare-child.js', import.meta.url));
  try {
    await startFullMesh(Array.from({ length: nodes }, () => () => Child.spawn('', script)), children);
    const [writer, ...receivers] = children as [Child, ...Child[]];
    const round = async (tag: number, count: number, paceMs: number) => {
      const started = (await writer.ask({ cmd: 'publish', count, paceMs, bytes: BARE_MESSAGE_BYTES, tag })).started as Record<string, number>;
      const ids = Object.keys(started);
      const arrivals = (await waitAll(receivers, ids)).map((r) => r.arrived as Record<string, number>);
      const delivered = ids.map((id) => Math.max(...arrivals.map((a) => a[id]!)));
      return { latencies: ids.map((id, i) => delivered[i]! - started[id]!).sort((x, y) => x - y), seconds: (Math.max(...delivered) - Math.min(...Object.values(started))) / 1000 };
    };
    await round(1, paced, 2); // warm-up, unmeasured, as for the real nodes
    const p = await round(2, paced, 2);
    record('network', `bare libp2p, same stack, no cocli-mesh work: paced delivered on all p50 (${paced} messages)`, percentile(p.latencies, 50), 'ms');
    record('network', `bare libp2p, same stack, no cocli-mesh work: paced delivered on all p99 (${paced} messages)`, percentile(p.latencies, 99), 'ms');
    const b = await round(3, burst, 0);
    record('network', `bare libp2p, same stack, no cocli-mesh work: burst of ${burst} messages delivered to all ${nodes - 1} peers`, burst / b.seconds, 'messages/s');
  } finally {
    await stopAll(children);
  }
}

/** about the size of a gossip message carrying one datagram in the paced run */
const BARE_MESSAGE_BYTES = 240;
