// The library API beyond merging: subscriptions, listing, frontiers and exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingBytes, newReplica, removeRoots } from '../support/replicas.js';
import fs from 'node:fs';
import { Mesh } from '../../src/mesh/mesh.js';
import type { Envelope } from '../../src/datagram/types.js';

test('subscribers hear every applied datagram once, after it is durable, with its origin', async () => {
  const a = await newReplica('sub-a');
  const b = await newReplica('sub-b');
  try {
    const heard: { id: string; origin: string; durable: boolean }[] = [];
    b.subscribe((env: Envelope, origin) => heard.push({ id: env.id, origin, durable: b.store.index.has(env.id) }));
    const local = await b.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await a.update('companies/beta-co', [['s', 'name', 'Beta']]);
    const envs = await missingBytes(a, b);
    await b.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
    await b.importDatagrams(envs.map((e) => ({ bytes: e.bytes }))); // duplicates: nothing new to hear
    assert.deepEqual(heard.map((h) => [h.id, h.origin]), [[local.id, 'local'], ...envs.map((e) => [e.id, 'remote'])]);
    assert.ok(heard.every((h) => h.durable));
    // a refused update is not announced
    await assert.rejects(b.update('companies/acme-inc', [['s', 'reviews_count', 'many' as unknown as number]]));
    assert.equal(heard.length, 1 + envs.length);
  } finally {
    removeRoots(a, b);
  }
});

test('list, frontier and export since a frontier', async () => {
  const a = await newReplica('list-a');
  const b = await newReplica('list-b');
  try {
    await a.updateMany([
      { entity: 'companies/acme-inc', ops: [['s', 'name', 'Acme']] },
      { entity: 'people/jane-doe', ops: [['s', 'name', 'Jane Doe']] },
    ]);
    assert.deepEqual(a.list(), ['_cluster', 'companies/acme-inc', 'people/jane-doe']);
    assert.deepEqual(a.frontier(), { [a.peerId]: 3 });
    assert.equal((await missingBytes(a, b)).length, 3);
    const envs = await missingBytes(a, b);
    await b.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
    assert.equal((await missingBytes(a, b)).length, 0);
    assert.equal(b.nodeNames()[a.peerId], 'list-a');
  } finally {
    removeRoots(a, b);
  }
});

test('refresh announces what another process wrote on the same data root, once, and never old history', async () => {
  const first = await newReplica('shared-root');
  try {
    await first.update('companies/old-co', [['s', 'name', 'Old']]);
    const { Mesh } = await import('../../src/mesh/mesh.js');
    const daemon = await Mesh.open(first.root);
    const heard: [string, string][] = [];
    daemon.subscribe((env, origin) => heard.push([env.id, origin]));
    await daemon.refresh();
    assert.deepEqual(heard, [], 'history present at open is not news');
    const cli = await Mesh.open(first.root);
    const written = await cli.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await daemon.refresh();
    await daemon.refresh();
    assert.deepEqual(heard, [[written.id, 'local']]);
  } finally {
    removeRoots(first);
  }
});

test('datagrams waiting for their parents survive a restart; their file grows by appends and empties once they apply', async () => {
  const a = await newReplica('park-a');
  const b = await newReplica('park-b');
  try {
    const chain: Envelope[] = [];
    for (let i = 0; i < 21; i++) chain.push(await a.update('companies/parked-co', [['s', 'reviews_count', i]]));
    const head = (await missingBytes(a, b)).filter((e) => !chain.some((c) => c.id === e.id)); // a's cluster entry
    await b.importDatagrams(head.map((e) => ({ bytes: e.bytes })));
    const file = b.store.layout.pending;
    let inode: number | undefined;
    // the first of the chain never arrives (yet): each later one waits, one message at a time
    for (const env of chain.slice(1)) {
      const r = await b.importDatagrams([{ bytes: env.bytes }]);
      assert.equal(r.pending, chain.indexOf(env));
      const st = fs.statSync(file);
      inode ??= st.ino;
      assert.equal(st.ino, inode, 'appended to, not replaced');
    }
    const ids = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).cid);
    assert.deepEqual(ids, chain.slice(1).map((e) => e.id), 'each waiting datagram once, in arrival order');
    // a restart keeps them waiting
    const again = await Mesh.open(b.root);
    assert.equal(again.pendingCount, 20);
    const r = await again.importDatagrams([{ bytes: chain[0]!.bytes }]);
    assert.deepEqual([r.applied, r.pending], [21, 0]);
    assert.equal(fs.statSync(file).size, 0, 'nothing waits: the file is emptied');
    const third = await Mesh.open(b.root);
    assert.equal(third.pendingCount, 0);
    assert.equal((await third.read('companies/parked-co')).fields.reviews_count, 20);
    await Promise.all([again.close(), third.close()]);
  } finally {
    removeRoots(a, b);
  }
});

test('a catch-up served again reads a log again once it changed, and only then', async () => {
  const m = await newReplica('raw-cache');
  try {
    const served = async () => {
      const ids: string[] = [];
      for await (const chunk of m.datagramsSinceChunks({}, { chunk: 2 })) ids.push(...chunk.map((d) => d.id));
      return ids;
    };
    for (let i = 0; i < 3; i++) await m.update('companies/cached-co', [['s', 'reviews_count', i]]);
    const first = await served();
    assert.equal(first.length, 4); // the cluster entry and three
    assert.deepEqual(await served(), first, 'served again from what was read');
    const more = [await m.update('companies/cached-co', [['s', 'reviews_count', 3]]), await m.update('companies/cached-co', [['s', 'reviews_count', 4]])];
    assert.deepEqual(await served(), [...first, ...more.map((e) => e.id)], 'the changed log is read again');
  } finally {
    removeRoots(m);
  }
});

test('datagrams waiting in one process apply once another process on the root applies what they wait for', async () => {
  const a = await newReplica('share-a');
  const b = await newReplica('share-b');
  try {
    const p: Envelope[] = [];
    for (let i = 0; i < 4; i++) p.push(await a.update('companies/shared-co', [['s', 'reviews_count', i]]));
    const orphan = await a.update('companies/other-co', [['s', 'name', 'Other']]); // waits for p[3] (a's sequence)
    const cluster = (await missingBytes(a, b)).filter((e) => ![...p, orphan].some((x) => x.id === e.id));
    await b.importDatagrams(cluster.map((e) => ({ bytes: e.bytes })));
    await b.importDatagrams([{ bytes: p[2]!.bytes }]); // waits for p[1], p[0]
    const c = await Mesh.open(b.root); // a second process on the root: it loads p[2] as waiting
    await b.importDatagrams([{ bytes: p[3]!.bytes }]); // b appends p[3]; c never saw it
    const r = await c.importDatagrams([p[0]!, p[1]!].map((e) => ({ bytes: e.bytes })));
    assert.deepEqual([r.applied, r.pending], [3, 0]); // p0, p1 and the p2 it loaded: c empties the file
    // b's next transaction sees what c applied: p[3] no longer waits for anything, and the orphan follows it
    const rb = await b.importDatagrams([{ bytes: orphan.bytes }]);
    assert.deepEqual([b.store.has(p[3]!.id), b.store.has(orphan.id), rb.pending], [true, true, 0]);
    const d = await Mesh.open(b.root);
    assert.ok(d.store.has(p[3]!.id) && d.store.has(orphan.id));
    assert.equal(d.pendingCount, 0);
    await Promise.all([c.close(), d.close()]);
  } finally {
    removeRoots(a, b);
  }
});

test('a process sharing the root that replaces the pending file does not lose what another one parked', async () => {
  const a = await newReplica('replace-a');
  const b = await newReplica('replace-b');
  try {
    const p: Envelope[] = [];
    for (let i = 0; i < 3; i++) p.push(await a.update('companies/replaced-co', [['s', 'reviews_count', i]]));
    const q: Envelope[] = [];
    for (let i = 0; i < 3; i++) q.push(await a.update('companies/other-co', [['s', 'reviews_count', i]]));
    const cluster = (await missingBytes(a, b)).filter((e) => ![...p, ...q].some((x) => x.id === e.id));
    await b.importDatagrams(cluster.map((e) => ({ bytes: e.bytes })));
    await b.importDatagrams([{ bytes: p[1]!.bytes }]); // waits for p[0]
    const c = await Mesh.open(b.root); // loads p[1] as waiting
    await b.importDatagrams([{ bytes: q[2]!.bytes }]); // b appends q[2], which c never saw (it waits for q[1], a long way off)
    await c.importDatagrams([{ bytes: p[0]!.bytes }]); // c applies p[0] and p[1]; nothing waits for c: it empties the file
    await b.importDatagrams([{ bytes: q[1]!.bytes }]); // b parks q[1] (it waits for q[0]): it must notice the file was replaced
    const d = await Mesh.open(b.root);
    assert.equal(d.pendingCount, 2, 'q[1] and q[2] both still wait, on disk');
    const r = await d.importDatagrams([p[2]!, q[0]!].map((e) => ({ bytes: e.bytes }))); // a's sequence runs through p[2]
    assert.deepEqual([r.applied, r.pending], [4, 0]);
    await Promise.all([c.close(), d.close()]);
  } finally {
    removeRoots(a, b);
  }
});
