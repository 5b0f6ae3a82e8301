// The store: torn tails, concurrent writers in separate processes, and the index rebuilt from the logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../../src/mesh/mesh.js';
import { Store } from '../../src/store/store.js';
import { appendLines, padInPlace, PAD_LIMIT, readLines } from '../../src/store/lines.js';
import { missingBytes, newReplica, removeRoots } from '../support/replicas.js';
import { checkedThisBoot, currentBoot, sameBoot } from '../../src/store/boot.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The lines of a log file. */
const linesOf = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);

/** Removes a log's last line, as a crash before that append would have left it. */
function dropLastLine(file: string): void {
  fs.writeFileSync(file, linesOf(file).slice(0, -1).join('\n') + '\n');
}

test('a torn final record is ignored on read and cut off on the next write', async () => {
  const m = await newReplica('torn');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await m.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    const log = m.store.layout.entityLog('companies/acme-inc');
    const lines = linesOf(log);
    // the writer was killed mid-append: half of the second record, no newline, and no index line yet
    fs.writeFileSync(log, lines[0] + '\n' + lines[1]!.slice(0, 100));
    dropLastLine(m.store.layout.index);
    const fresh = new Store(m.root);
    assert.equal(fresh.readLog('companies/acme-inc').length, 1);
    const reopened = await Mesh.open(m.root);
    // the journal still holds the acknowledged record, so nothing acknowledged is lost
    const view = await reopened.read('companies/acme-inc');
    assert.equal(view.fields.domain, 'acme.com');
    await reopened.update('companies/acme-inc', [['s', 'phone_1', '15125551234']]);
    const text = fs.readFileSync(log, 'utf8');
    assert.ok(text.endsWith('\n'));
    assert.equal(text.split('\n').filter(Boolean).length, 3);
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    removeRoots(m);
  }
});

test('the journal replays acknowledged datagrams whose entity log or index lost them', async () => {
  const m = await newReplica('replay');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await m.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    // simulate a crash after the journal fsync but before the entity log and index writes
    const log = m.store.layout.entityLog('companies/acme-inc');
    dropLastLine(log);
    dropLastLine(m.store.layout.index);
    const reopened = await Mesh.open(m.root);
    assert.equal((await reopened.read('companies/acme-inc')).fields.domain, 'acme.com');
    assert.equal(linesOf(log).length, 2);
    assert.deepEqual(reopened.frontier(), m.frontier());
  } finally {
    removeRoots(m);
  }
});

test('after a restart of the machine, the journal replays datagrams an entity log lost though the index kept them', async () => {
  const m = await newReplica('power-cut');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await m.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    const { journalChecked: marker, journal } = m.store.layout;
    await Mesh.open(m.root);
    assert.ok(checkedThisBoot(marker, journal), 'an opener checked the whole journal and said so');
    // a power cut lost the entity log's last append but not the index's; the machine restarted
    const log = m.store.layout.entityLog('companies/acme-inc');
    dropLastLine(log);
    const saved = JSON.parse(fs.readFileSync(marker, 'utf8')) as { journal: string };
    fs.writeFileSync(marker, JSON.stringify({ boot: 'id:an-earlier-boot', journal: saved.journal }) + '\n');
    assert.ok(!checkedThisBoot(marker, journal));
    const reopened = await Mesh.open(m.root);
    assert.equal((await reopened.read('companies/acme-inc')).fields.domain, 'acme.com');
    assert.equal(linesOf(log).length, 2);
    assert.deepEqual(reopened.verify().failures, []);
    assert.ok(checkedThisBoot(marker, journal), 'the check is recorded for this boot');
    // a copy of the root has other files: its journal was never checked
    const copy = m.root + '-copy';
    fs.cpSync(m.root, copy, { recursive: true });
    try {
      assert.ok(!checkedThisBoot(path.join(copy, '.mesh/journal-checked.json'), path.join(copy, '.mesh/journal.log')));
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  } finally {
    removeRoots(m);
  }
});

test('a write that fails after its journal commit is completed by the next transaction of the same process', async () => {
  const m = await newReplica('half-written');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    // the disk fills up after the journal made the batch durable: acme's log gets its line, beta's does not
    const store = m.store as unknown as { appendEntityLog(entity: string, text: string): void };
    const append = store.appendEntityLog.bind(store);
    let full = true;
    store.appendEntityLog = (entity, text) => {
      if (entity === 'companies/beta-co' && full) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      append(entity, text);
    };
    await assert.rejects(
      m.updateMany([
        { entity: 'companies/acme-inc', ops: [['s', 'domain', 'acme.com']] },
        { entity: 'companies/beta-co', ops: [['s', 'name', 'Beta']] },
      ]),
      /no space left/,
    );
    full = false;
    await m.refresh();
    assert.equal((await m.read('companies/acme-inc')).fields.domain, 'acme.com');
    assert.equal((await m.read('companies/beta-co')).fields.name, 'Beta');
    assert.equal(m.store.readLog('companies/acme-inc').length, 2, 'nothing is appended twice');
    assert.deepEqual(m.verify().failures, []);
    const fresh = await Mesh.open(m.root);
    assert.deepEqual(fresh.frontier(), m.frontier());
  } finally {
    removeRoots(m);
  }
});

test('boots told apart by boot time allow for the clock and uptime being read apart', () => {
  assert.ok(sameBoot('time:1000', 'time:1003'));
  assert.ok(!sameBoot('time:1000', 'time:1030'));
  assert.ok(!sameBoot('id:a', 'id:b'));
  assert.ok(!sameBoot('id:a', 'time:1000'));
  assert.ok(sameBoot(currentBoot(), currentBoot()));
});

test('two processes writing one data root at once lose and interleave nothing', async () => {
  const m = await newReplica('procs');
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    const writer = path.join(here, 'writer-process.js');
    const run = (tag: string) =>
      new Promise<number>((resolve, reject) => {
        const p = spawn(process.execPath, [writer, m.root, tag, '40'], { stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('error', reject);
        p.on('exit', (code) => resolve(code ?? -1));
      });
    const codes = await Promise.all([run('a'), run('b')]);
    assert.deepEqual(codes, [0, 0]);
    const reopened = await Mesh.open(m.root);
    // 1 _cluster + 1 name + 2 x 40 updates, gap-free sequence numbers from one author
    assert.deepEqual(Object.values(reopened.frontier()), [82]);
    const view = await reopened.read('companies/acme-inc');
    const tags = view.fields.tags as string[];
    assert.equal(tags.length, 80);
    for (let i = 0; i < 40; i++) assert.ok(tags.includes(`a${i}`) && tags.includes(`b${i}`));
    const lines = fs.readFileSync(reopened.store.layout.entityLog('companies/acme-inc'), 'utf8').split('\n');
    assert.equal(lines.pop(), '');
    for (const line of lines) JSON.parse(line); // every record whole: nothing interleaved
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    removeRoots(m);
  }
});

test('the index rebuilt from the logs equals the index kept', async () => {
  const a = await newReplica('idx-a');
  const b = await newReplica('idx-b');
  try {
    for (let i = 0; i < 5; i++) {
      await a.update(`companies/co-${i}`, [['s', 'name', `Co ${i}`]]);
      await b.update(`companies/co-${i}`, [['+', 'tags', `t${i}`], ['s', 'name', `B ${i}`]]);
    }
    const envs = await b.store.transaction(() => b.datagramsSince(a.frontier()));
    await a.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
    const kept = { frontier: a.frontier(), size: a.store.index.size, entities: [...a.store.index.entities()].sort() };
    const keptOrder = [...a.store.index.ordered()];
    fs.rmSync(a.store.layout.index);
    const reopened = await Mesh.open(a.root);
    assert.deepEqual({ frontier: reopened.frontier(), size: reopened.store.index.size, entities: [...reopened.store.index.entities()].sort() }, kept);
    assert.deepEqual(new Set(reopened.store.index.ordered()), new Set(keptOrder));
    for (const id of keptOrder) assert.deepEqual(reopened.store.index.get(id), a.store.index.get(id));
  } finally {
    removeRoots(a, b);
  }
});

test('journal truncation renders pending files, records pending hand edits durably, and loses nothing', async () => {
  const m0 = await newReplica('trunc');
  const m = await Mesh.open(m0.root, { render: 'deferred', journalLimit: 4096 });
  try {
    await m.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await m.flush();
    // a hand edit that only the render before truncation will notice
    const doc = path.join(m.root, 'companies/acme-inc/_index.md');
    fs.writeFileSync(doc, fs.readFileSync(doc, 'utf8').replace('name: Acme', 'name: Acme\ndomain: edited.com'));
    for (let i = 0; i < 20; i++) await m.update(`companies/co-${i}`, [['s', 'name', `Co ${i}`]]);
    assert.ok(fs.statSync(m.store.layout.journal).size < 4096, 'the journal was truncated');
    // whatever left the journal was rendered first; only what is still journalled may be unrendered
    const journal = fs.readFileSync(m.store.layout.journal, 'utf8');
    let rendered = 0;
    for (let i = 0; i < 20; i++) {
      const done = fs.existsSync(path.join(m.root, `companies/co-${i}/_index.md`));
      if (done) rendered++;
      else assert.ok(journal.includes(`"entity":"companies/co-${i}"`), `co-${i} left the journal unrendered`);
    }
    assert.ok(rendered > 0);
    const reopened = await Mesh.open(m.root);
    assert.equal((await reopened.read('companies/acme-inc')).fields.domain, 'edited.com');
    assert.equal(Object.values(reopened.frontier())[0], 23);
    assert.deepEqual(reopened.verify().failures, []);
  } finally {
    removeRoots(m);
  }
});

test('the index snapshot loads the same index, then follows the log; a damaged snapshot is ignored', async () => {
  const m = await newReplica('snap');
  try {
    await m.updateMany(Array.from({ length: 30 }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'name', `Co ${i}`]] as [['s', string, string]] })));
    await m.store.transaction(() => m.store.saveIndexSnapshot());
    await m.update('companies/co-1', [['s', 'city', 'Austin']]); // after the snapshot: read from the log
    const fresh = new Store(m.root);
    await fresh.transaction(() => undefined);
    assert.deepEqual(fresh.index.frontier(), m.frontier());
    assert.deepEqual(fresh.index.ordered(), m.store.index.ordered());
    for (const id of m.store.index.ordered()) assert.deepEqual(fresh.index.get(id), m.store.index.get(id));
    fs.writeFileSync(m.store.layout.indexSnapshot, '{"version":1,"count":5}\ngarbage');
    const again = new Store(m.root);
    await again.transaction(() => undefined);
    assert.deepEqual(again.index.ordered(), m.store.index.ordered());
  } finally {
    removeRoots(m);
  }
});

test('padding left by an in-place rewrite is neither data nor a torn record, and appends write over it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-pad-'));
  try {
    const file = path.join(dir, 'mesh.log');
    fs.writeFileSync(file, '{"record":1}\n{"record":2}\n{"record":3}\n');
    const before = fs.statSync(file).size;
    padInPlace(file, '{"checkpoint":1}\n');
    assert.equal(fs.statSync(file).size, before, 'rewritten in place without shrinking');
    assert.deepEqual(readLines(file), { lines: ['{"checkpoint":1}'], end: 17, torn: 0 });
    appendLines(file, '{"late":1}\n');
    assert.equal(fs.statSync(file).size, before, 'the append went over the padding');
    assert.deepEqual(readLines(file).lines, ['{"checkpoint":1}', '{"late":1}']);
    // a crash mid-append over the padding: the partial record is torn, and the next append cuts it off
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, '{"par', 28);
    fs.closeSync(fd);
    assert.ok(readLines(file).torn > 0);
    appendLines(file, '{"late":2}\n');
    assert.deepEqual(readLines(file), { lines: ['{"checkpoint":1}', '{"late":1}', '{"late":2}'], end: 39, torn: 0 });
    // far more left over than PAD_LIMIT: truncated instead
    fs.writeFileSync(file, 'x'.repeat(PAD_LIMIT + 100) + '\n');
    padInPlace(file, '{"checkpoint":2}\n');
    assert.equal(fs.readFileSync(file, 'utf8'), '{"checkpoint":2}\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('new entities get their folder and empty log ahead of the apply; known ones are left alone', async () => {
  const a = await newReplica('prepare-a');
  const b = await newReplica('prepare-b');
  try {
    const known = await b.update('companies/known-co', [['s', 'name', 'Known']]);
    const knownLog = b.store.layout.entityLog('companies/known-co');
    const before = fs.statSync(knownLog);
    assert.deepEqual(await b.store.prepareNewEntities(['companies/new-co', 'companies/known-co', 'companies/new-co']), ['companies/new-co']);
    const newLog = b.store.layout.entityLog('companies/new-co');
    assert.equal(fs.readFileSync(newLog, 'utf8'), '', 'an empty log, holding no datagram');
    assert.deepEqual(fs.statSync(knownLog).mtimeMs, before.mtimeMs);
    assert.ok(b.store.index.hasEntity(known.datagram.e) && !b.store.index.hasEntity('companies/new-co'));
    // an empty log is no entity's history: nothing to read, verify passes, and an import appends to it
    assert.deepEqual(b.store.readLog('companies/new-co'), []);
    assert.deepEqual(b.verify().failures, []);
    const sent = await a.update('companies/new-co', [['s', 'name', 'New']]);
    const report = await b.importDatagrams((await missingBytes(a, b)).map((e) => ({ bytes: e.bytes })));
    assert.ok(b.store.index.has(sent.id) && report.pending === 0);
    assert.equal(linesOf(newLog).length, 1);
    assert.equal((await b.read('companies/new-co')).fields.name, 'New');
    // a datagram parked for a missing parent leaves no empty company folder behind
    const parent = await a.update('companies/parked-co', [['s', 'name', 'Parked']]);
    const child = await a.update('companies/parked-co', [['s', 'domain', 'parked.example']]);
    const parked = await b.importDatagrams([{ bytes: child.bytes }]);
    assert.equal(parked.applied, 0);
    assert.ok(!fs.existsSync(b.store.layout.entityDir('companies/parked-co')), 'no folder for a datagram still waiting');
    await b.importDatagrams([{ bytes: parent.bytes }]);
    assert.equal(linesOf(b.store.layout.entityLog('companies/parked-co')).length, 2, 'both, once the parent came');
    // a folder that cannot be made is left for the append to report
    fs.writeFileSync(path.join(b.root, 'companies', 'blocked-co'), 'a file where the folder would go');
    await b.store.prepareNewEntities(['companies/blocked-co']);
    const blocked = await a.update('companies/blocked-co', [['s', 'name', 'Blocked']]);
    const refused = await b.importDatagrams([{ bytes: blocked.bytes }]);
    assert.equal(refused.applied, 0);
    assert.match(refused.invalid[0]?.reason ?? '', /ENOTDIR.*blocked-co/);
    assert.ok(!b.store.index.has(blocked.id));
  } finally {
    removeRoots(a, b);
  }
});

test('folders made ahead for datagrams still being checked are removed when nothing was applied to them', async () => {
  const a = await newReplica('ahead-a');
  const b = await newReplica('ahead-b');
  try {
    const good = await a.update('companies/ahead-good', [['s', 'name', 'Good']]);
    const never = await a.update('companies/ahead-never', [['s', 'name', 'Never applied']]);
    // as a sync frame arrives: its new entities' folders are started, garbage among the bytes is skipped
    b.prepareFoldersFor([good.bytes, never.bytes, new Uint8Array([0x8a, 1, 1]), new Uint8Array(0)]);
    assert.deepEqual((await b.store.preparedEntities()).sort(), ['companies/ahead-good', 'companies/ahead-never']);
    assert.equal(fs.readFileSync(b.store.layout.entityLog('companies/ahead-never'), 'utf8'), '');
    // all but the last are applied (the frame was cut before it)
    const cut = (await missingBytes(a, b)).filter((e) => e.id !== never.id);
    const report = await b.importDatagrams(cut.map((e) => ({ bytes: e.bytes })));
    assert.equal(report.applied, cut.length);
    assert.deepEqual(await b.store.preparedEntities(), ['companies/ahead-never'], 'the applied one is no longer listed');
    await b.removeUnusedFolders();
    assert.ok(!fs.existsSync(b.store.layout.entityDir('companies/ahead-never')), 'no empty folder stays for a datagram never applied');
    assert.equal(linesOf(b.store.layout.entityLog('companies/ahead-good')).length, 1);
    assert.deepEqual(await b.store.preparedEntities(), []);
    // a known entity is never prepared, so never removed
    b.prepareFoldersFor([good.bytes]);
    assert.deepEqual(await b.store.preparedEntities(), []);
    await b.removeUnusedFolders();
    assert.equal((await b.read('companies/ahead-good')).fields.name, 'Good');
  } finally {
    removeRoots(a, b);
  }
});
