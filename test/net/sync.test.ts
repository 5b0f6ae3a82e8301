// Catch-up by the sync protocol on real libp2p nodes over 127.0.0.1: a node that was away receives
// exactly what it missed; a healed partition converges; anti-entropy repairs lossy gossip; an interrupted
// sync resumes without re-sending what was applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fc from 'fast-check';
import { createLibp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { multiaddr } from '@multiformats/multiaddr';
import { Layout } from '../../src/store/paths.js';
import { syncProtocol } from '../../src/net/sync.js';
import { transportStack } from '../../src/net/node.js';
import { FrameStream } from '../../src/net/frame-stream.js';
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES } from '../../src/sync/frames.js';
import { frontierChange } from '../../src/sync/lack.js';
import { MeshNode, type MeshNodeOptions } from '../../src/net/node.js';
import { Mesh } from '../../src/mesh/mesh.js';
import type { UpdateRequest } from '../../src/mesh/mesh.js';
import { cocliFiles, newReplica, removeRoots } from '../support/replicas.js';
import { until } from '../support/daemons.js';

const same = (a: Mesh, b: Mesh) => JSON.stringify(Object.entries(a.frontier()).sort()) === JSON.stringify(Object.entries(b.frontier()).sort());
const total = (m: Mesh) => Object.values(m.frontier()).reduce((n, s) => n + s, 0);

/** `count` single-op updates spread over `entities` companies, written in batches of `batch`. */
/** `count` writes round-robin over `entities` companies; each value padded to at least `pad` characters */
async function writeMany(m: Mesh, count: number, entities: number, tag: string, batch = 500, pad = 0): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const reqs: UpdateRequest[] = [];
    for (let j = i; j < Math.min(count, i + batch); j++) reqs.push({ entity: `companies/co-${j % entities}`, ops: [['s', `note_${tag}`, `${tag} ${j}`.padEnd(pad, '.')]] });
    await m.updateMany(reqs);
  }
}

async function start(m: Mesh, opts: MeshNodeOptions = {}): Promise<MeshNode> {
  return MeshNode.start(m, { dht: false, ...opts });
}

test('a node that was away converges with exactly the 10,000 datagrams it missed', async () => {
  const [a, b, c] = await Promise.all(['away-a', 'away-b', 'away-c'].map((n) => newReplica(n, { render: 'deferred' })));
  const na = await start(a!);
  const nb = await start(b!, { bootstrap: na.addresses() });
  let nc = await start(c!, { bootstrap: na.addresses() });
  try {
    await until(() => same(a!, c!) && same(b!, c!) && total(c!) === 3, 'the announcements everywhere');
    await nc.stop();
    await Promise.all([writeMany(a!, 5000, 1000, 'a'), writeMany(b!, 5000, 1000, 'b')]);
    await until(() => same(a!, b!) && total(a!) === 10_003, 'a and b in step');
    const before = c!.store.index.size;
    nc = await start(await Mesh.open(c!.root, { render: 'deferred' }), { bootstrap: na.addresses() });
    // (the frontier counts a transaction's datagrams as they are staged; the counters once it is durable)
    await until(() => total(nc.mesh) === 10_003 && nc.stats.applied >= 10_000, 'c caught up', 60_000);
    await Promise.all([na.stop(), nb.stop(), nc.stop()]);
    const report = await nc.peerReport();
    const bySync = report.reduce((n, p) => n + p.sync.totals.applied, 0);
    assert.equal(nc.mesh.store.index.size - before, 10_000);
    // most arrive by sync; gossipsub may hand over its last seconds of messages too (IHAVE/IWANT)
    assert.ok(bySync > 5_000, `${bySync} by sync`);
    assert.equal(nc.stats.applied, 10_000, 'applied exactly what it missed, nothing twice');
    for (const m of [a!, b!, nc.mesh]) await m.flush();
    assert.deepEqual(cocliFiles(c!.root), cocliFiles(a!.root));
    assert.deepEqual(cocliFiles(b!.root), cocliFiles(a!.root));
  } finally {
    await Promise.all([na, nb, nc].map((n) => n.stop().catch(() => undefined)));
    removeRoots(a!, b!, c!);
  }
});

test('a healed partition ({A} | {B, C}) converges byte-identically with conflicts kept as the merge rules say', async () => {
  const [a, b, c] = await Promise.all(['part-a', 'part-b', 'part-c'].map((n) => newReplica(n)));
  const na = await start(a!);
  const nb = await start(b!);
  const nc = await start(c!, { bootstrap: nb.addresses() });
  try {
    await until(() => same(b!, c!) && total(c!) === 2, 'b and c together');
    await a!.update('companies/acme', [['s', 'name', 'Acme (A)'], ['+', 'tags', 'from-a'], ['m', 'email_contexts', 'ceo@acme.com', 'A side']]);
    await b!.update('companies/acme', [['s', 'name', 'Acme (B)'], ['+', 'tags', 'from-b'], ['m', 'email_contexts', 'ceo@acme.com', 'B side']]);
    await c!.update('companies/acme', [['+', 'tags', 'from-c'], ['s', 'phone', '555']]);
    await until(() => same(b!, c!) && total(b!) === 4, 'b and c in step');
    // heal: a dials b
    await na.libp2p.dial(nb.libp2p.getMultiaddrs()[0]!);
    await until(() => same(a!, b!) && same(a!, c!) && total(a!) === 6, 'all three converged');
    await Promise.all([a!.flush(), b!.flush(), c!.flush()]);
    assert.deepEqual(cocliFiles(b!.root), cocliFiles(a!.root));
    assert.deepEqual(cocliFiles(c!.root), cocliFiles(a!.root));
    const view = await a!.read('companies/acme');
    assert.deepEqual([...(view.fields.tags as string[])].sort(), ['from-a', 'from-b', 'from-c']);
    assert.equal(view.fields.phone, '555');
    const conflicted = view.conflicts.map((x) => x.field).sort();
    assert.ok(conflicted.includes('name'), 'concurrent names stay visible as a conflict');
    assert.ok(conflicted.some((f) => f.startsWith('email_contexts')), 'the concurrent map entry too');
  } finally {
    await Promise.all([na.stop(), nb.stop(), nc.stop()]);
    removeRoots(a!, b!, c!);
  }
});

test('anti-entropy repairs every gap when gossip drops 30% of messages', async () => {
  const rng = fc.sample(fc.double({ min: 0, max: 1, noNaN: true }), { seed: 42, numRuns: 100_000 });
  let i = 0;
  const [a, b] = await Promise.all(['lossy-a', 'lossy-b'].map((n) => newReplica(n, { render: 'deferred' })));
  const na = await start(a!, { syncIntervalMs: 500 });
  const nb = await start(b!, { bootstrap: na.addresses(), syncIntervalMs: 500, dropIncoming: () => rng[i++ % rng.length]! < 0.3 });
  try {
    await until(() => nb.topicPeers().includes(na.peerId) && same(a!, b!), 'b on the topic and in step');
    for (let n = 0; n < 300; n++) await a!.update(`companies/lossy-${n % 40}`, [['s', 'n', n], ['+', 'tags', `t${n % 7}`]]);
    await until(() => same(a!, b!) && total(b!) === 302, 'b repaired', 60_000);
    assert.ok(i > 0, 'the drop hook saw messages');
    await Promise.all([a!.flush(), b!.flush()]);
    assert.deepEqual(cocliFiles(b!.root), cocliFiles(a!.root));
  } finally {
    await Promise.all([na.stop(), nb.stop()]);
    removeRoots(a!, b!);
  }
});

test('a sync cut off mid-transfer resumes without re-sending what was already applied', async () => {
  const [a, b] = await Promise.all(['cut-a', 'cut-b'].map((n) => newReplica(n, { render: 'deferred' })));
  // 2 KB values, 10 MB in all: far more than the puller buffers, so the cut leaves most of it unsent
  await writeMany(a!, 5000, 500, 'a', 500, 2000);
  // as if a's node had published these long ago: only the sync protocol can deliver them now
  fs.writeFileSync(new Layout(a!.root).published, JSON.stringify({ seq: 5001 }));
  const na = await start(a!);
  let seen = 0;
  let cut = false;
  const nb = await start(b!, { bootstrap: na.addresses() });
  b!.subscribe(() => {
    if (++seen >= 1000 && !cut) {
      cut = true;
      void nb.libp2p.hangUp(na.libp2p.peerId); // the connection drops mid-sync; b redials with backoff
    }
  });
  try {
    await until(() => total(b!) === 5002 && nb.sync.view(na.peerId).totals.applied >= 5001, 'b caught up after the cut', 60_000);
    await Promise.all([na.stop(), nb.stop()]);
    const s = nb.sync.view(na.peerId);
    assert.ok(cut, 'the connection was cut during the transfer');
    assert.ok(s.totals.pulls >= 2, 'a second pull resumed');
    assert.equal(s.totals.applied, 5001);
    assert.equal(s.totals.duplicates, 0, 'nothing applied was sent again');
  } finally {
    await Promise.all([na.stop(), nb.stop()]);
    removeRoots(a!, b!);
  }
});

test('a new connection runs one sync session when the nodes are in step, and the side that lacks something pulls it back', async () => {
  const [a, b] = await Promise.all(['conn-a', 'conn-b'].map((n) => newReplica(n, { render: 'deferred' })));
  // each holds an announcement the other lacks: b dials and pulls; a, seeing b's frontier, pulls back
  let na = await start(a!, { syncIntervalMs: 0 });
  let nb = await start(b!, { syncIntervalMs: 0, bootstrap: na.addresses() });
  try {
    await until(() => same(a!, b!) && na.sync.view(nb.peerId).equal === true && nb.sync.view(na.peerId).equal === true, 'a and b in step');
    assert.equal(nb.sync.view(na.peerId).totals.pulls, 1, 'the dialler pulled once');
    assert.equal(na.sync.view(nb.peerId).totals.pulls, 1, 'the other side pulled back once');
    await Promise.all([na.stop(), nb.stop()]);

    // in step, they connect again: only the dialler pulls
    na = await start(await Mesh.open(a!.root, { render: 'deferred' }), { syncIntervalMs: 0 });
    nb = await start(await Mesh.open(b!.root, { render: 'deferred' }), { syncIntervalMs: 0, bootstrap: na.addresses() });
    await until(() => na.sync.view(nb.peerId).equal === true, 'a told of b\'s frontier by its pull');
    assert.equal(nb.sync.view(na.peerId).totals.pulls, 1, 'the dialler pulled');
    assert.equal(na.sync.view(nb.peerId).totals.pulls, 0, 'the side that lacked nothing did not pull');
    await Promise.all([na.stop(), nb.stop()]);

    // the dialler wrote while they were apart: the other side pulls back exactly once
    const b2 = await Mesh.open(b!.root, { render: 'deferred' });
    await b2.update('companies/acme-inc', [['s', 'note', 'written while apart']]);
    // as if b's node had published it while apart: only the sync protocol can deliver it now
    fs.writeFileSync(new Layout(b!.root).published, JSON.stringify({ seq: b2.store.index.lastSeq(b2.peerId) }));
    na = await start(await Mesh.open(a!.root, { render: 'deferred' }), { syncIntervalMs: 0 });
    nb = await start(b2, { syncIntervalMs: 0, bootstrap: na.addresses() });
    await until(() => same(na.mesh, b2) && na.sync.view(nb.peerId).equal === true, 'a has what b wrote');
    assert.equal(na.sync.view(nb.peerId).totals.pulls, 1, 'a pulled back once');
    assert.equal(nb.sync.view(na.peerId).totals.pulls, 1, 'b pulled once');
  } finally {
    await Promise.all([na.stop(), nb.stop()]);
    removeRoots(a!, b!);
  }
});

test('a responder that sends a forged datagram in its third frame: the two frames before it are applied, nothing of the third', async () => {
  const a = await newReplica('forger-source');
  const b = await newReplica('forger-victim');
  // 600 datagrams by one author, in three frames of 200: large enough to be checked by the worker pool
  await writeMany(a, 600, 7, 'x');
  const all = await a.store.transaction(() => a.datagramsSince(b.frontier()));
  const own = all.filter((e) => e.datagram.e !== '_cluster');
  assert.equal(own.length, 600);
  const forged = Uint8Array.from(own[450]!.bytes);
  forged[forged.length - 1] ^= 1; // inside the signature
  const frames = [own.slice(0, 200), own.slice(200, 400), own.slice(400)].map((envs) => envs.map((e) => e.bytes));
  frames[2]![50] = forged;
  const cluster = all.filter((e) => e.datagram.e === '_cluster').map((e) => e.bytes);

  const raw = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportStack(), services: { identify: identify() } });
  await raw.handle(syncProtocol('test'), (stream) => {
    void (async () => {
      const io = new FrameStream(stream, { maxMessageBytes: MAX_FRAME_BYTES });
      try {
        const pull = decodeFrame(await io.read());
        if (pull.t !== 'pull') throw new Error('expected a pull');
        await io.write(encodeFrame({ t: 'have', f: frontierChange(pull.f, a.frontier()), n: all.length }));
        if (cluster.length) await io.write(encodeFrame({ t: 'data', d: cluster }));
        for (const d of frames) await io.write(encodeFrame({ t: 'data', d }));
        await io.write(encodeFrame({ t: 'end' }));
        await io.read();
      } catch {
        // the puller aborts the session once it finds the forgery
      }
    })();
  });
  const nb = await start(b);
  try {
    // b dials, so b pulls as soon as the connection is open
    await nb.libp2p.dial(multiaddr(`${raw.getMultiaddrs()[0]!.toString()}`));
    const status = nb.sync.statusOf(raw.peerId.toString());
    await until(() => status.totals.pulls > 0 && !status.running, 'the pull from the forger ends');
    assert.match(status.lastError ?? '', /invalid signature/);
    for (const [i, env] of own.entries()) assert.equal(b.store.index.has(env.id), i < 400, `datagram ${i}`);
    assert.equal(b.pendingCount, 0);
  } finally {
    await nb.stop();
    await raw.stop();
    removeRoots(a, b);
  }
});
