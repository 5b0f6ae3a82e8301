// The verifier: batches large enough to go to worker threads get exactly the answers the inline check
// gives: the CID of every good datagram, and for each bad one (a flipped byte, a wrong name, another
// cluster) the reason, at its own position; the rest of the batch is unaffected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mainThreadShare, Verifier } from '../../src/mesh/verifier.js';
import { checkIncoming, type CheckResult } from '../../src/mesh/verify-core.js';
import { newReplica, removeRoots } from '../support/replicas.js';

/** A check's answer as it can be compared: the datagram's CID, or the reason it was refused. */
const answer = (r: CheckResult) => ('env' in r ? { id: r.env.id } : r);

test('the main thread takes a fifth of the signatures beside one worker, none beside more', () => {
  assert.equal(mainThreadShare(1), 0.2);
  assert.equal(mainThreadShare(2), 0);
  assert.equal(mainThreadShare(4), 0);
});

test('a batch checked in worker threads names each bad datagram and passes the others', async () => {
  const mesh = await newReplica('verifier');
  const verifier = new Verifier(1);
  try {
    const envs = await mesh.updateMany(Array.from({ length: 200 }, (_, i) => ({ entity: `companies/co-${i % 7}`, ops: [['s', 'name', `Co ${i}`]] as [['s', string, string]] })));
    const items: { bytes: Uint8Array; cid?: string }[] = envs.map((e) => ({ bytes: e.bytes }));
    const flipped = Uint8Array.from(envs[10]!.bytes);
    flipped[flipped.length - 5] = flipped[flipped.length - 5]! ^ 0x01; // inside the signature
    items[10] = { bytes: flipped };
    items[120] = { bytes: envs[120]!.bytes, cid: envs[121]!.id }; // named as another datagram
    items[199] = { bytes: envs[199]!.bytes, cid: envs[199]!.id }; // named correctly
    const forged = Uint8Array.from(envs[190]!.bytes);
    forged[forged.length - 64] ^= 0x01; // with one worker, the last fifth's signatures are checked on this thread
    items[190] = { bytes: forged };

    const results = (await verifier.check(items, 'test')).map(answer);
    assert.equal(results.length, 200);
    results.forEach((r, i) => {
      if (i === 10 || i === 190) assert.ok('error' in r && /invalid signature/.test(r.error), JSON.stringify(r));
      else if (i === 120) assert.ok('error' in r && /content hashes to .* but was named/.test(r.error), JSON.stringify(r));
      else assert.deepEqual(r, { id: envs[i]!.id }, `datagram ${i}`);
    });
    // the same answers as the inline check, in the same order
    const inline = items.map((it) => answer(checkIncoming(it, 'test')));
    assert.deepEqual(results, inline);
    // without workers (a single core) the answers are the same
    assert.deepEqual((await new Verifier(0).check(items, 'test')).map(answer), inline);
    // the envelopes given are the datagrams decoded
    const first = (await verifier.check(items, 'test'))[0]!;
    assert.ok('env' in first && first.env.id === envs[0]!.id && first.env.datagram.s === envs[0]!.datagram.s);

    // a batch where a datagram that fails to decode comes first: each answer stays at its own position
    const mixed = [{ bytes: Uint8Array.of(1, 2, 3) }, ...items.slice(0, 99)];
    const mixedResults = (await verifier.check(mixed, 'test')).map(answer);
    assert.ok('error' in mixedResults[0]! && /not DAG-CBOR|not a list/.test(mixedResults[0].error), JSON.stringify(mixedResults[0]));
    assert.ok('error' in mixedResults[11]! && /invalid signature/.test(mixedResults[11].error), 'the forged datagram, one place later');
    assert.deepEqual(mixedResults[50], { id: envs[49]!.id });

    // and with two workers, which take every signature
    const two = new Verifier(2);
    try {
      assert.deepEqual((await two.check(items, 'test')).map(answer), inline);
    } finally {
      await two.close();
    }

    const other = await verifier.check(items.slice(0, 100), 'another-cluster');
    assert.ok(other.every((r) => 'error' in r), 'datagrams of another cluster are all refused');
    assert.match((other[0] as { error: string }).error, /invalid signature \(or belongs to another cluster than "another-cluster"\)/);
  } finally {
    await verifier.close();
    removeRoots(mesh);
  }
});

test('importing a large batch with one forged datagram applies the rest and reports the forgery', async () => {
  const [a, b] = await Promise.all([newReplica('imp-a'), newReplica('imp-b')]);
  try {
    await a.updateMany(Array.from({ length: 150 }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'name', `Co ${i}`]] as [['s', string, string]] })));
    const all = await a.store.transaction(() => a.datagramsSince({}));
    const items = all.map((e) => ({ bytes: e.bytes }));
    const last = items.length - 1;
    const forged = Uint8Array.from(all[last]!.bytes);
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 0xff;
    items[last] = { bytes: forged };
    const report = await b.importDatagrams(items);
    assert.equal(report.received, all.length);
    assert.equal(report.invalid.length, 1);
    assert.match(report.invalid[0]!.reason, /invalid signature/);
    assert.equal(report.applied, all.length - 1);
    assert.equal(b.store.index.size, all.length - 1 + 1, 'everything else is applied (beside b\'s own datagram)');
  } finally {
    removeRoots(a, b);
  }
});
