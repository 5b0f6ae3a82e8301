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
