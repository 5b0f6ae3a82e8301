// Compaction: never changes the merge result, late concurrent datagrams merge as if it had not run,
// log and verify work across the checkpoint, files stay bounded, runs are incremental, policy applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Mesh } from '../../src/mesh/mesh.js';
import { PAD_LIMIT } from '../../src/store/lines.js';
import type { Op } from '../../src/datagram/types.js';
import { compactionCandidates } from '../../src/store/compaction.js';
import { cocliFiles, missingBytes, newReplica, removeRoots, tempDir } from '../support/replicas.js';

const E = 'companies/acme-inc';

async function send(from: Mesh, to: Mesh): Promise<void> {
  const envs = await missingBytes(from, to);
  const r = await to.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
  assert.deepEqual(r.invalid, []);
}

test('a late concurrent datagram merges exactly as if compaction had never run (registers, sets, maps)', async () => {
  const a = await newReplica('a'); // compacts
  const control = await newReplica('c'); // never compacts
  const b = await newReplica('b'); // writes concurrently, offline
  try {
    await a.update(E, [['s', 'name', 'Acme'], ['+', 'tags', 'vip'], ['+', 'tags', 'lead'], ['m', 'email_contexts', 'x@a.com', 'sales'], ['s', 'domain', 'a.com']]);
    await send(a, b);
    await send(a, control);
    // concurrent: a changes things and compacts; b, unaware, changes the same fields
    await a.update(E, [['s', 'domain', 'a2.com'], ['-', 'tags', 'vip'], ['m', 'email_contexts', 'x@a.com', 'support'], ['b', 'Body from a']]);
    await send(a, control);
    await a.compact({ entities: [E] });
    assert.equal(a.store.readLog(E).length, 0, 'everything folded into the checkpoint');
    const ops: Op[] = [['s', 'domain', 'b.com'], ['+', 'tags', 'vip'], ['-', 'tags', 'lead'], ['x', 'email_contexts', 'x@a.com'], ['b', 'Body from b']];
    await b.update(E, ops);
    await send(b, a);
    await send(b, control);
    await a.flush();
    await control.flush();
    assert.deepEqual(cocliFiles(a.root), cocliFiles(control.root));
    const va = await a.read(E);
    const vc = await control.read(E);
    assert.deepEqual(va.fields, vc.fields);
    assert.deepEqual(va.conflicts, vc.conflicts);
    assert.ok(va.conflicts.some((c) => c.field === 'domain'), 'the concurrent domain stays visible as a conflict');
    assert.deepEqual(va.fields.tags, ['vip'], 'add-wins: b re-added vip concurrently with a removing it; b removed lead');
  } finally {
    removeRoots(a, b, control);
  }
});

test('log and verify across the checkpoint; tampering with history or checkpoint is caught', async () => {
  const m = await newReplica('lv');
  try {
    for (let i = 0; i < 5; i++) await m.update(E, [['s', 'name', `Acme ${i}`]]);
    await m.compact({ entities: [E] });
    for (let i = 5; i < 8; i++) await m.update(E, [['s', 'name', `Acme ${i}`]]);
    const all = m.store.allDatagrams(E);
    assert.deepEqual(all.map((e) => e.datagram.o[0]), Array.from({ length: 8 }, (_, i) => ['s', 'name', `Acme ${i}`]));
    assert.deepEqual(m.verify([E]).failures, []);

    const [segment, offset, length] = m.store.checkpointOf(E)!.history.ranges[0]!;
    const historyFile = m.store.history.segmentFile(segment);
    const history = fs.readFileSync(historyFile);
    const flipped = Buffer.from(history);
    flipped[offset + length - 10] ^= 1;
    fs.writeFileSync(historyFile, flipped);
    assert.ok(m.verify([E]).failures.length > 0, 'a flipped byte in the history is a failure');
    fs.writeFileSync(historyFile, history);

    const logFile = m.store.layout.entityLog(E);
    const logText = fs.readFileSync(logFile, 'utf8');
    assert.ok(logText.startsWith('{"checkpoint":'), 'the checkpoint is the first line of the log');
    fs.writeFileSync(logFile, logText.replace('"Acme 4"', '"Acme X"'));
    assert.match(m.verify([E]).failures.join('\n'), /does not match the state its history folds to/);
    fs.writeFileSync(logFile, logText);
    assert.deepEqual(m.verify([E]).failures, []);
  } finally {
    removeRoots(m);
  }
});

test('after compaction an entity holds a fixed number of files, whatever its history length', async () => {
  const m = await newReplica('files');
  try {
    for (let round = 0; round < 5; round++) {
      await m.updateMany(Array.from({ length: 40 }, (_, i) => ({ entity: E, ops: [['s', 'reviews_count', round * 40 + i]] as Op[] })).map((r, i) => (round === 0 && i === 0 ? { entity: E, ops: [['s', 'name', 'Acme'], ...r.ops] as Op[] } : r)));
      await m.compact();
      assert.deepEqual(fs.readdirSync(m.store.layout.updatesDir(E)).sort(), ['mesh.log']);
      const text = fs.readFileSync(m.store.layout.entityLog(E), 'utf8');
      const lines = text.split('\n');
      assert.equal(lines.length, 2, 'only the checkpoint line');
      assert.match(lines[1]!, /^ *$/, 'then at most padding: spaces, no newline');
      assert.ok(Buffer.byteLength(text) <= Buffer.byteLength(lines[0]!) + 1 + PAD_LIMIT, 'padding is bounded');
      assert.deepEqual(fs.readdirSync(m.store.layout.entityDir(E)).sort(), ['_index.md', 'tags.lst', 'updates']);
    }
    assert.equal(m.store.allDatagrams(E).length, 200);
    assert.equal((await m.read(E)).fields.reviews_count, 199);
  } finally {
    removeRoots(m);
  }
});

test('compaction is incremental: only entities changed since the last run are touched', async () => {
  const m = await newReplica('inc');
  try {
    await m.updateMany(Array.from({ length: 50 }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'name', `Co ${i}`]] as Op[] })));
    const first = await m.compact();
    assert.equal(first.compacted, 51); // 50 companies and _cluster
    const again = await m.compact();
    assert.equal(again.candidates, 0);
    await m.update('companies/co-7', [['s', 'city', 'Austin']]);
    const third = await m.compact();
    assert.deepEqual([third.candidates, third.compacted, third.folded], [1, 1, 1]);
  } finally {
    removeRoots(m);
  }
});

test('--auto compacts only what the policy says is due (count or age)', async () => {
  let now = Date.now();
  const m0 = await newReplica('auto');
  const config = JSON.parse(fs.readFileSync(m0.store.layout.configFile, 'utf8'));
  fs.writeFileSync(m0.store.layout.configFile, JSON.stringify({ ...config, compaction: { maxLiveDatagrams: 5, maxAgeHours: 24 } }));
  const m = await Mesh.open(m0.root, { clock: () => now });
  try {
    for (let i = 0; i < 6; i++) await m.update('companies/busy-co', [['s', 'name', `Busy ${i}`]]);
    await m.update('companies/quiet-co', [['s', 'name', 'Quiet']]);
    let r = await m.compact({ auto: true });
    assert.deepEqual(r.entities.map((e) => e.entity), ['companies/busy-co']);
    now += 25 * 3_600_000;
    r = await m.compact({ auto: true });
    assert.deepEqual(r.entities.map((e) => e.entity).sort(), ['_cluster', 'companies/quiet-co']);
  } finally {
    removeRoots(m);
  }
});

test('--drop-history is explicit and keeps merging correct', async () => {
  const a = await newReplica('drop');
  const b = await newReplica('drop-b');
  try {
    await a.update(E, [['s', 'name', 'Acme'], ['+', 'tags', 'x']]);
    await send(a, b);
    await a.update(E, [['s', 'domain', 'a.com']]);
    await a.compact({ entities: [E], dropHistory: true });
    assert.deepEqual(a.store.checkpointOf(E)!.history, { ranges: [], dropped: true });
    await b.update(E, [['s', 'domain', 'b.com'], ['-', 'tags', 'x']]);
    await send(b, a);
    const v = await a.read(E);
    assert.ok(['a.com', 'b.com'].includes(v.fields.domain as string));
    assert.equal(v.conflicts.length, 1);
    assert.deepEqual(v.fields.tags, []);
    assert.deepEqual(a.verify([E]).failures, []);
    assert.equal(a.store.allDatagrams(E).length, 1, 'only the late datagram is still on disk');
  } finally {
    removeRoots(a, b);
  }
});

test('a large compaction, folded in worker threads, writes exactly what folding in this thread writes', async () => {
  const a = await newReplica('pool'); // more than 1,000 candidates: worker threads fold, this thread commits
  let b: Mesh | undefined;
  try {
    const companies = Array.from({ length: 1_200 }, (_, i) => `companies/co-${String(i).padStart(4, '0')}`);
    // non-ASCII values: the checkpoint's bytes are spliced at a byte offset, not a character offset
    await a.updateMany(companies.map((e, i) => ({ entity: e, ops: [['s', 'name', `Café Ünïcode ${i} ✓`], ['+', 'tags', 'lead'], ['b', `Notes ${i} 🚀`]] as Op[] })));
    await a.updateMany(companies.map((e, i) => ({ entity: e, ops: [['s', 'phone_1', `+1 512 555 ${i}`], ['-', 'tags', 'lead']] as Op[] })));
    const root = tempDir('cm-pool-copy-');
    fs.cpSync(a.root, root, { recursive: true });
    b = await Mesh.open(root);
    const before = await a.read(companies[7]!);

    const ra = await a.compact();
    assert.equal(ra.candidates, companies.length + 1);
    assert.equal(ra.folded, 2 * companies.length + 1);
    const candidates = await b.store.transaction(() => compactionCandidates(b!.store).entities);
    for (let i = 0; i < candidates.length; i += 400) await b.compact({ entities: candidates.slice(i, i + 400) }); // in this thread

    const files = (m: Mesh) => {
      const out: Record<string, string> = {};
      for (const e of candidates) out[e] = fs.readFileSync(m.store.layout.entityLog(e), 'utf8');
      for (const f of fs.readdirSync(m.store.history.dir)) out[f] = fs.readFileSync(`${m.store.history.dir}/${f}`, 'latin1');
      return out;
    };
    assert.deepEqual(files(a), files(b));
    assert.deepEqual(cocliFiles(a.root), cocliFiles(b.root));
    assert.deepEqual(await a.read(companies[7]!), before);
    assert.equal(a.store.readLog(companies[7]!).length, 0);
    assert.equal(a.store.allDatagrams(companies[7]!).length, 2, 'both datagrams kept in history');
    assert.deepEqual(a.verify().failures, []);
  } finally {
    removeRoots(a, ...(b ? [b] : []));
  }
});
