// Merge semantics (docs/merge.md): registers with a deterministic winner and visible conflicts,
// add-wins sets, maps merged per key, causality over clocks, and rejection of lying metadata.
import { test } from 'node:test';
import { FORMAT_VERSION } from '../../src/datagram/types.js';
import assert from 'node:assert/strict';
import { missingBytes, newReplica, removeRoots } from '../support/replicas.js';
import type { Mesh } from '../../src/mesh/mesh.js';

async function sync(a: Mesh, b: Mesh): Promise<void> {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const envs = await missingBytes(from, to);
    const r = await to.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
    assert.deepEqual(r.invalid, []);
  }
}

const E = 'companies/acme-inc';

test('concurrent register writes: one deterministic winner, the loser stays visible', async () => {
  const a = await newReplica('a');
  const b = await newReplica('b');
  try {
    await a.update(E, [['s', 'name', 'Acme']]);
    await sync(a, b);
    await a.update(E, [['s', 'domain', 'a.com']]);
    await b.update(E, [['s', 'domain', 'b.com']]);
    await sync(a, b);
    const va = await a.read(E);
    const vb = await b.read(E);
    assert.equal(va.fields.domain, vb.fields.domain);
    const loser = va.fields.domain === 'a.com' ? 'b.com' : 'a.com';
    assert.deepEqual(va.conflicts.map((c) => [c.field, c.losers.map((l) => l.value)]), [['domain', [loser]]]);
    // the winner is the greater author key at equal Lamport numbers
    const winnerKey = [a, b].map((m) => Buffer.from(m.identity.publicKey).toString('hex')).sort()[1];
    const winner = Buffer.from(a.identity.publicKey).toString('hex') === winnerKey ? 'a.com' : 'b.com';
    assert.equal(va.fields.domain, winner);
    // a write that saw both resolves the conflict
    await b.update(E, [['s', 'domain', 'final.com']]);
    await sync(a, b);
    assert.equal((await a.read(E)).fields.domain, 'final.com');
    assert.deepEqual((await a.read(E)).conflicts, []);
  } finally {
    removeRoots(a, b);
  }
});

test('causality beats clocks: a later write with an older wall clock wins', async () => {
  const a = await newReplica('a', { clock: () => 2_000_000_000_000 });
  const b = await newReplica('b', { clock: () => 1_000_000_000_000 });
  try {
    await a.update(E, [['s', 'name', 'From the future']]);
    await sync(a, b);
    await b.update(E, [['s', 'name', 'Later but older clock']]);
    await sync(a, b);
    assert.equal((await a.read(E)).fields.name, 'Later but older clock');
  } finally {
    removeRoots(a, b);
  }
});

test('sets are add-wins: a concurrent add survives a remove, a seen add does not', async () => {
  const a = await newReplica('a');
  const b = await newReplica('b');
  try {
    await a.update(E, [['s', 'name', 'Acme'], ['+', 'tags', 'vip'], ['+', 'tags', 'lead']]);
    await sync(a, b);
    await a.update(E, [['-', 'tags', 'vip'], ['-', 'tags', 'lead']]);
    await b.update(E, [['+', 'tags', 'vip']]);
    await sync(a, b);
    assert.deepEqual((await a.read(E)).fields.tags, ['vip']);
    assert.deepEqual((await b.read(E)).fields.tags, ['vip']);
  } finally {
    removeRoots(a, b);
  }
});

test('maps merge per key; a removed key stays removed unless concurrently set', async () => {
  const a = await newReplica('a');
  const b = await newReplica('b');
  try {
    await a.update(E, [['s', 'name', 'Acme'], ['m', 'email_contexts', 'x@a.com', 'sales']]);
    await sync(a, b);
    await a.update(E, [['m', 'email_contexts', 'y@a.com', 'support']]);
    await b.update(E, [['x', 'email_contexts', 'x@a.com'], ['m', 'email_contexts', 'z@a.com', 'ceo']]);
    await sync(a, b);
    assert.deepEqual((await a.read(E)).fields.email_contexts, { 'y@a.com': 'support', 'z@a.com': 'ceo' });
  } finally {
    removeRoots(a, b);
  }
});

test('a datagram whose Lamport number or ancestry lies is refused and changes nothing', async () => {
  const a = await newReplica('a');
  const b = await newReplica('b');
  try {
    await a.update(E, [['s', 'name', 'Acme']]);
    await sync(a, b);
    // forge: a's next datagram claims Lamport 7 over a parent with Lamport 1
    const state = a.store.state(E);
    const { CID } = await import('multiformats/cid');
    const forged = a.identity.signer.sign({
      v: FORMAT_VERSION, c: 'test', e: E, o: [['s', 'name', 'Forged']], a: a.identity.publicKey,
      s: a.store.index.lastSeq(a.peerId) + 1, l: 7, p: state.heads.map((h) => CID.parse(h)), t: 0,
    });
    const before = b.frontier();
    const r = await b.importDatagrams([{ bytes: forged.bytes }]);
    assert.match(r.invalid[0]!.reason, /Lamport 7/);
    assert.deepEqual(b.frontier(), before);
    assert.equal((await b.read(E)).fields.name, 'Acme');
  } finally {
    removeRoots(a, b);
  }
});
