// FilesystemSyncer: one long-lived `sync -f` loop flushes a file system on request (a large compaction's
// batches); a failing one is reported, and a compaction batch then falls back to an fdatasync per log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { FilesystemSyncer } from '../../src/store/atomic.js';
import { Mesh } from '../../src/mesh/mesh.js';
import { commitPrepared, prepareEntities } from '../../src/store/compaction.js';
import type { Op } from '../../src/datagram/types.js';
import { newReplica, removeRoots, tempDir } from '../support/replicas.js';

const linux = process.platform === 'linux';

test('a syncer flushes on every request, and says so when it cannot', { skip: !linux && 'sync -f is Linux only' }, async () => {
  const dir = tempDir('cm-syncer-');
  const good = FilesystemSyncer.start(dir)!;
  const bad = FilesystemSyncer.start(path.join(dir, 'missing'))!;
  try {
    await good.sync();
    await Promise.all([good.sync(), good.sync()]); // requests in flight together are answered in order
    await assert.rejects(bad.sync(), /could not sync the file system holding .*missing/);
    await good.sync(); // one failure elsewhere changes nothing here
  } finally {
    good.close();
    bad.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a compaction batch whose syncer fails still commits, flushing each log instead', { skip: !linux && 'sync -f is Linux only' }, async () => {
  const m = await newReplica('syncer-fallback');
  const bad = FilesystemSyncer.start(path.join(m.root, 'missing'))!;
  try {
    const entities = Array.from({ length: 5 }, (_, i) => `companies/co-${i}`);
    await m.updateMany(entities.flatMap((entity) => [0, 1, 2].map((k) => ({ entity, ops: [['s', 'reviews_count', k]] as Op[] }))));
    const before = await m.store.transaction(() => entities.map((e) => JSON.stringify(m.store.state(e))));
    const done = await m.store.transaction(() => commitPrepared(m.store, prepareEntities(m.store, entities, false), false, bad));
    assert.deepEqual(done.map((r) => r.folded), [3, 3, 3, 3, 3]);
    for (const e of entities) assert.equal(m.store.readLog(e).length, 0, `${e}: folded into its checkpoint`);
    const reopened = await Mesh.open(m.root); // states from the checkpoints, not from memory
    assert.deepEqual(await reopened.store.transaction(() => entities.map((e) => JSON.stringify(reopened.store.state(e)))), before);
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    bad.close();
    removeRoots(m);
  }
});

test('emptying a full journal flushes through a syncer, and without one when it fails', { skip: !linux && 'sync -f is Linux only' }, async () => {
  const m0 = await newReplica('syncer-journal');
  const m = await Mesh.open(m0.root, { render: 'deferred', journalLimit: 4096 });
  const bad = FilesystemSyncer.start(path.join(m.root, 'missing'))!;
  try {
    (m.store as unknown as { syncer: FilesystemSyncer }).syncer = bad;
    for (let i = 0; i < 20; i++) await m.update(`companies/co-${i}`, [['s', 'name', `Co ${i}`]]);
    assert.ok(fs.statSync(m.store.layout.journal).size < 4096, 'the journal was emptied all the same');
    assert.equal((m.store as unknown as { syncer: unknown }).syncer, null, 'the failed syncer is not asked again');
    for (let i = 20; i < 40; i++) await m.update(`companies/co-${i}`, [['s', 'name', `Co ${i}`]]);
    const reopened = await Mesh.open(m.root);
    assert.equal(reopened.store.index.lastSeq(reopened.peerId), m.store.index.lastSeq(m.peerId));
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    bad.close();
    removeRoots(m0);
  }
});
