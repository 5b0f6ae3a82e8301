// Large batches of writes are signed on another core (SigningPool): the datagrams must be exactly the
// ones the one-by-one path signs (same fields, same bytes: Ed25519 is deterministic), over entities with
// several heads, with a hand edit absorbed first, and a bad op must refuse the whole batch, staging nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Mesh } from '../../src/mesh/mesh.js';
import { entitiesSignedHere, SigningPool } from '../../src/mesh/signing-pool.js';
import type { Op } from '../../src/datagram/types.js';
import { cocliFiles, newReplica, removeRoots, tempDir } from '../support/replicas.js';

/** A clock that ticks 1 ms per call, from the same start in every copy. */
const ticking = () => {
  let t = 1_767_225_600_000;
  return () => t++;
};

/** 300 writes over 7 companies, one of them new, with set and map ops among the scalars. */
function requests(): { entity: string; ops: Op[] }[] {
  return Array.from({ length: 300 }, (_, i) => ({
    entity: `companies/co-${i % 7}`,
    ops: i % 3 === 0 ? [['s', 'reviews_count', i]] : i % 3 === 1 ? [['+', 'tags', `t${i % 11}`], ['s', 'city', `City ${i}`]] : [['m', 'email_contexts', `x${i % 5}@co.test`, `ctx ${i}`]],
  }));
}

test('a large batch is split by whole entities between this thread and the worker', () => {
  const here = entitiesSignedHere(requests(), 0.15);
  // the batch below mixes both: co-0 (43 writes) is signed here, the other six companies by the worker
  assert.deepEqual([...here], ['companies/co-0']);
  assert.deepEqual([...entitiesSignedHere(requests().filter((r) => r.entity === 'companies/co-3'), 0.15)], [], 'one entity: all on the worker');
  const spread = Array.from({ length: 1000 }, (_, i) => ({ entity: `companies/c-${i % 100}` }));
  assert.equal(entitiesSignedHere(spread, 0.15).size, 15);
});

test('a batch signed on another core is byte for byte the batch signed one by one', async () => {
  const base = await newReplica('sign-base');
  const other = await newReplica('sign-other');
  const work = tempDir('cm-sign-');
  try {
    // co-1 gets two heads (a concurrent write from another node); co-2 a hand edit to absorb first
    await base.updateMany(Array.from({ length: 6 }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'name', `Co ${i}`]] as Op[] })));
    await other.importDatagrams((await base.store.transaction(() => base.datagramsSince({}))).map((e) => ({ bytes: e.bytes })));
    await other.update('companies/co-1', [['s', 'name', 'Co 1 (other)']]);
    await base.update('companies/co-1', [['s', 'name', 'Co 1 (base)']]);
    await base.importDatagrams((await other.store.transaction(() => other.datagramsSince(base.frontier()))).map((e) => ({ bytes: e.bytes })));
    assert.equal(base.store.state('companies/co-1').heads.length, 2);
    const doc = path.join(base.root, 'companies', 'co-2', '_index.md');
    fs.writeFileSync(doc, fs.readFileSync(doc, 'utf8').replace('name: Co 2', 'name: Co 2 (by hand)'));

    const copies = ['pooled', 'one-by-one'].map((name) => {
      const root = path.join(work, name);
      fs.cpSync(base.root, root, { recursive: true });
      return root;
    });
    const pooled = await Mesh.open(copies[0]!, { clock: ticking() });
    const single = await Mesh.open(copies[1]!, { clock: ticking() });
    // two batches, so the second one signs into chunk buffers the first gave back to the worker
    const a = [...(await pooled.updateMany(requests())), ...(await pooled.updateMany(requests()))];
    // the same writes in batches too small for the pool
    const b = [];
    for (let i = 0; i < 600; i += 100) b.push(...(await single.updateMany([...requests(), ...requests()].slice(i, i + 100))));
    assert.equal(a.length, 600);
    assert.deepEqual(a.map((e) => e.id), b.map((e) => e.id), 'the same datagrams, so the same CIDs');
    assert.deepEqual(a.map((e) => Buffer.from(e.bytes).toString('hex')), b.map((e) => Buffer.from(e.bytes).toString('hex')));
    assert.deepEqual(pooled.store.index.ordered(), single.store.index.ordered());
    assert.deepEqual(cocliFiles(pooled.root), cocliFiles(single.root));
    // the log lines the worker made are the lines this thread makes
    for (let i = 0; i < 7; i++) {
      const log = (root: string) => fs.readFileSync(path.join(root, 'companies', `co-${i}`, 'updates', 'mesh.log'), 'utf8');
      assert.equal(log(pooled.root), log(single.root), `companies/co-${i}: the same log`);
    }
    assert.equal((await pooled.read('companies/co-2')).fields.name, 'Co 2 (by hand)', 'the hand edit was absorbed before the batch');
    assert.deepEqual(pooled.verify().failures, []);
    // what the pooled copy wrote reopens as written (it was durable)
    const reopened = await Mesh.open(copies[0]!);
    assert.deepEqual(reopened.frontier(), single.frontier());
    await Promise.all([pooled.close(), single.close(), reopened.close()]);
  } finally {
    removeRoots(base, other);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('a large batch with one bad op is refused whole, and nothing of it is kept', async () => {
  const m = await newReplica('sign-bad');
  try {
    await m.update('companies/acme', [['s', 'name', 'Acme']]);
    const before = m.frontier();
    const held = m.store.index.size;
    const batch = requests();
    batch[200] = { entity: 'companies/co-3', ops: [['s', 'tags', 'not a list']] };
    await assert.rejects(m.updateMany(batch), /tags/);
    assert.deepEqual(m.frontier(), before);
    assert.equal(m.store.index.size, held);
    // the batch without the bad request goes through the pool
    batch.splice(200, 1);
    assert.equal((await m.updateMany(batch)).length, 299);
    assert.deepEqual(m.verify().failures, []);
    await m.close();
  } finally {
    removeRoots(m);
  }
});

test('when the signing worker fails, the batch is signed on the main thread instead, with a warning', async () => {
  const m = await newReplica('sign-fallback');
  try {
    // a pool whose worker cannot sign (a seed of the wrong length): every chunk it is given fails
    (m as unknown as { signingPool: SigningPool }).signingPool = new SigningPool(new Uint8Array(10), m.identity.publicKey);
    const envs = await m.updateMany(requests());
    assert.equal(envs.length, 300);
    assert.ok(m.warnings.some((w) => /the signing worker failed.*signing on the main thread instead/.test(w)), m.warnings.join('\n'));
    assert.equal(m.store.index.lastSeq(m.peerId), envs.at(-1)!.datagram.s, 'no sequence number was used by the failed attempt');
    assert.deepEqual(m.verify().failures, []);
    await m.close();
  } finally {
    removeRoots(m);
  }
});
