// Catch-up bench (the sync protocol), each node in its own process, the puller dialling through a
// counting TCP relay so every byte on the wire is measured:
//  1. a fresh node catches up 100,000 missing datagrams: datagrams verified and applied per second, and
//     bytes on the wire / bytes of the missing datagrams (handshakes included);
//  2. one datagram missing out of 1,000,000: the sync protocol's bytes beyond that datagram, on an open
//     connection (and, for reference, with the connection set-up);
//  3. side by side, one fresh peer catching up N key-value puts: cocli-mesh and OrbitDB, with the ratio.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Mesh } from '../src/mesh/mesh.js';
import { createIdentity } from '../src/identity/identity.js';
import { Layout } from '../src/store/paths.js';
import { record } from './report.js';
import { flushDisk, scratchDir } from './scratch.js';
import { Child, median, stopAll } from './node-process.js';
import { tcpCounter } from './tcp-counter.js';
import { buildSyntheticRoot } from './synthetic-root.js';
import { orbitCatchUp } from './orbitdb.js';

/**
 * How many times our side of the OrbitDB comparison runs before OrbitDB's catch-up, and again after it
 * (the median of all of them counts).
 */
const KV_RUNS_EACH_SIDE = 4;

/** Marks a root's own datagrams as published, so its node gossips no backlog: only sync moves data. */
async function markPublished(root: string): Promise<void> {
  const mesh = await Mesh.open(root);
  fs.writeFileSync(mesh.store.layout.published, JSON.stringify({ seq: mesh.store.index.lastSeq(mesh.peerId) }));
}

/** How many datagrams a root holds, and their bytes. */
async function holdings(root: string): Promise<{ total: number; bytes: number; peerId: string }> {
  const mesh = await Mesh.open(root);
  const envs = await mesh.store.transaction(() => mesh.datagramsSince({}));
  return { total: mesh.store.index.size, bytes: envs.reduce((n, e) => n + e.bytes.length, 0), peerId: mesh.peerId };
}

/** A fresh node (`to`, empty) catches up everything `from` holds, through the relay. */
async function catchUp(from: string, to: string, total: number): Promise<{ seconds: number; wire: number; source: Child; sink: Child; relay: Awaited<ReturnType<typeof tcpCounter>> }> {
  // the source announces only the relay's address, so the puller can reach it no other way
  const port = await freePort();
  const relay = await tcpCounter(port);
  const source = await Child.spawn(from);
  const up = await source.ask({ cmd: 'start', bootstrap: [], listen: [`/ip4/127.0.0.1/tcp/${port}`], announce: [`/ip4/127.0.0.1/tcp/${relay.port}`] });
  const peer = (up.address as string).split('/').pop();
  const sink = await Child.spawn(to);
  await sink.ask({ cmd: 'start', bootstrap: [] });
  flushDisk();
  // timed from the dial, as the OrbitDB side is: starting the node is not part of catching up
  const started = Date.now();
  await sink.ask({ cmd: 'connect', address: `/ip4/127.0.0.1/tcp/${relay.port}/p2p/${peer}` });
  await sink.ask({ cmd: 'until', total });
  return { seconds: (Date.now() - started) / 1000, wire: relay.bytes().total, source, sink, relay };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}


export async function benchCatchUp(opts: { quick?: boolean } = {}): Promise<void> {
  const base = scratchDir('cocli-mesh-bench-sync-');
  // 1. 100,000 missing datagrams (10 per company, four authors) for a fresh node
  const missing = Number(process.env.BENCH_MISSING ?? (opts.quick ? 20_000 : 100_000));
  const a = path.join(base, 'a');
  await buildSyntheticRoot(a, missing / 10, 10);
  await markPublished(a);
  const source = await holdings(a);
  const b = path.join(base, 'b');
  await Mesh.init(b, { name: 'fresh', cluster: 'bench' });
  await markPublished(b);
  const r = await catchUp(a, b, source.total + 1);
  record('catch-up', `${source.total} missing datagrams verified and applied`, source.total / r.seconds, 'datagrams/s');
  record('catch-up', 'bytes on the wire / bytes of the missing datagrams', r.wire / source.bytes, 'ratio');
  const totals = ((await r.sink.ask({ cmd: 'report' })).sync as { pulls: number; duplicates: number }[]).reduce((t, x) => ({ pulls: t.pulls + x.pulls, duplicates: t.duplicates + x.duplicates }), { pulls: 0, duplicates: 0 });
  record('catch-up', 'pulls it took', totals.pulls, 'pulls');
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify((await r.sink.ask({ cmd: 'report' })).stats), JSON.stringify((await r.source.ask({ cmd: 'report' })).stats));
  record('catch-up', 'datagrams received again (already held)', totals.duplicates, 'datagrams');
  await stopAll([r.source, r.sink]);
  await r.relay.close();

  // 2. one missing out of 1,000,000: a copy of the big root with its own identity, one datagram behind
  const big = opts.quick ? a : path.join(base, 'big');
  if (!opts.quick) await buildSyntheticRoot(big, 100_000, 10);
  const copy = path.join(base, 'copy');
  fs.cpSync(big, copy, { recursive: true });
  const layout = new Layout(copy);
  for (const f of [layout.keyFile, layout.configFile, layout.published]) fs.rmSync(f, { force: true });
  await createIdentity(copy, { name: 'copy', cluster: 'bench' });
  const writer = await Mesh.open(big);
  const one = await writer.update('companies/company-1', [['s', 'note', 'the one missing datagram']]);
  await markPublished(big);
  const held = writer.store.index.size;
  const first = await catchUp(big, copy, held);
  record('catch-up', `1 missing of ${held}: bytes on the wire incl. connection set-up`, first.wire, 'bytes');
  record('catch-up', `1 missing of ${held}: the same beyond the datagram`, first.wire - one.bytes.length, 'bytes');
  // on the open connection: another datagram, written by another process (so not gossiped), pulled
  const two = await writer.update('companies/company-2', [['s', 'note', 'another missing datagram']]);
  first.relay.reset();
  await first.sink.ask({ cmd: 'pull', peer: writer.peerId });
  record('catch-up', `1 missing of ${held + 1}: sync protocol bytes beyond the datagram`, first.relay.bytes().total - two.bytes.length, 'bytes');
  await stopAll([first.source, first.sink]);
  await first.relay.close();
}

/** cocli-mesh and OrbitDB side by side: a fresh peer catching up N key-value puts. */
export async function benchVsOrbitdb(opts: { quick?: boolean } = {}): Promise<void> {
  const base = scratchDir('cocli-mesh-bench-kv-');
  const n = Number(process.env.BENCH_KV_N ?? (opts.quick ? 500 : 10_000));
  const kvA = path.join(base, 'kv-a');
  const m = await Mesh.init(kvA, { name: 'kv-a', cluster: 'bench' });
  const value = 'v'.repeat(100);
  await m.updateMany(Array.from({ length: n }, (_, i) => ({ entity: `companies/kv-${i % 100}`, ops: [['s', `k${i}`, value]] })));
  await markPublished(kvA);
  // Our side lasts about 1 s, so a moment's noise on the machine (another process, the disk, a slow phase)
  // moves one run's figure by a quarter; OrbitDB's lasts about a minute and averages that out itself. So
  // ours runs KV_RUNS_EACH_SIDE times just before OrbitDB's and as many times just after, each by a fresh
  // peer, and the median counts: the two sides are measured over the same stretch of time, and a slow
  // phase of the machine falls on both.
  const runs: { seconds: number; wire: number }[] = [];
  const ourRuns = async (): Promise<void> => {
    for (let i = 0; i < KV_RUNS_EACH_SIDE; i++) {
      const kvB = path.join(base, `kv-b${runs.length}`);
      await Mesh.init(kvB, { name: 'kv-b', cluster: 'bench' });
      await markPublished(kvB);
      const ours = await catchUp(kvA, kvB, n + 2);
      await stopAll([ours.source, ours.sink]);
      await ours.relay.close();
      runs.push({ seconds: ours.seconds, wire: ours.wire });
    }
  };
  await ourRuns();
  const orbit = await orbitCatchUp(n);
  await ourRuns();
  const total = runs.length;
  const seconds = runs.map((r) => r.seconds).sort((x, y) => y - x); // slowest first
  const oursRate = n / median(seconds);
  const oursWire = median(runs.map((r) => r.wire).sort((x, y) => x - y));
  record('vs-orbitdb', `cocli-mesh: fresh peer catches up ${n} puts (median of ${total} runs, half before OrbitDB's, half after)`, oursRate, 'entries/s');
  record('vs-orbitdb', `cocli-mesh: slowest of the ${total} runs`, n / seconds[0]!, 'entries/s');
  record('vs-orbitdb', `cocli-mesh: fastest of the ${total} runs`, n / seconds[seconds.length - 1]!, 'entries/s');
  record('vs-orbitdb', `cocli-mesh: bytes on the wire per entry`, oursWire / n, 'bytes');
  if (!orbit.ok) {
    console.error(`orbitdb side failed: ${orbit.error}`);
    return;
  }
  record('vs-orbitdb', `OrbitDB: fresh peer catches up ${n} puts`, orbit.entriesPerSecond, 'entries/s');
  record('vs-orbitdb', 'OrbitDB: bytes on the wire per entry', orbit.wireBytes / n, 'bytes');
  record('vs-orbitdb', 'speed ratio cocli-mesh / OrbitDB', oursRate / orbit.entriesPerSecond, 'x');
  record('vs-orbitdb', 'bytes ratio OrbitDB / cocli-mesh', orbit.wireBytes / oursWire, 'x');
}
