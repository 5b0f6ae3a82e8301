// Crash safety of compaction: a harness kills a `cocli-mesh compact --all` process with SIGKILL at random
// points; every time, nothing is lost or torn, the merge result is unchanged, and a rerun completes.
// COCLI_MESH_KILL_TRIALS sets the number of trials (50 in the suite; `npm run soak` runs more).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../../src/mesh/mesh.js';
import { viewOf } from '../../src/merge/view.js';
import { parseDocument } from '../../src/cocli/document.js';
import { parseTagsList } from '../../src/cocli/tags.js';
import type { Op } from '../../src/datagram/types.js';
import { newReplica, removeRoots, tempDir } from '../support/replicas.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'cocli-mesh.js');
const TRIALS = Number(process.env.COCLI_MESH_KILL_TRIALS ?? 50);
const ENTITIES = 150;

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Every entity's merged view, read in one transaction. */
function snapshot(m: Mesh): Promise<Record<string, string>> {
  return m.store.transaction(() => {
    const out: Record<string, string> = {};
    for (const e of [...m.list(), '_cluster']) {
      const v = viewOf(m.store.state(e));
      out[e] = JSON.stringify({ fields: v.fields, body: v.body, conflicts: v.conflicts, heads: v.heads });
    }
    return out;
  });
}

/** Every cocli file parses, and tags.lst agrees with the frontmatter: nothing torn. */
function assertNothingTorn(root: string): void {
  for (const slug of fs.readdirSync(path.join(root, 'companies'))) {
    const dir = path.join(root, 'companies', slug);
    const doc = parseDocument(fs.readFileSync(path.join(dir, '_index.md'), 'utf8'), dir);
    assert.deepEqual(parseTagsList(fs.readFileSync(path.join(dir, 'tags.lst'), 'utf8')), doc.fields.tags ?? []);
  }
}

/**
 * The two ways a compaction commits: batches folded in this thread (small runs), and batches folded by a
 * worker thread one ahead of commits flushed by one syncfs each (large runs; small batches make this
 * root one).
 */
const MODES = [{ name: 'in-thread', env: {} }, { name: 'pipelined', env: { COCLI_MESH_COMPACT_BATCH: '20' } }];

function runCompact(root: string, mode: (typeof MODES)[number], killAfterMs?: number): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, '--data', root, 'compact', '--all', '--json'], { stdio: 'ignore', env: { ...process.env, ...mode.env } });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

test(`compaction killed with SIGKILL at random points (${TRIALS} trials) loses nothing and a rerun completes`, async () => {
  const template = await newReplica('crash-template');
  const work = tempDir('cm-crash-');
  try {
    // a second author, so checkpoints hold concurrent entries and conflicts
    const other = await newReplica('crash-other', {}, 'test');
    for (let round = 0; round < 4; round++) {
      await template.updateMany(Array.from({ length: ENTITIES }, (_, i) => ({
        entity: `companies/co-${i}`,
        ops: (round === 0 ? [['s', 'name', `Co ${i}`], ['+', 'tags', 'start']] : [['s', 'reviews_count', round * 1000 + i], ['+', 'tags', `r${round}`]]) as Op[],
      })));
    }
    const envs = await template.store.transaction(() => template.datagramsSince({}));
    await other.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
    await other.updateMany(Array.from({ length: ENTITIES }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'reviews_count', -i], ['-', 'tags', 'start']] as Op[] })));
    await template.updateMany(Array.from({ length: ENTITIES }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'city', `City ${i}`]] as Op[] })));
    const back = await other.store.transaction(() => other.datagramsSince(template.frontier()));
    await template.importDatagrams(back.map((e) => ({ bytes: e.bytes })));
    removeRoots(other);
    const expected = await snapshot(template);
    const frontier = template.frontier();

    // time a full run in each mode and the start-up alone, to aim the kills at the work
    let startup = Infinity;
    const full = MODES.map(() => Infinity);
    for (let i = 0; i < 2; i++) {
      let t = performance.now();
      spawnSync(process.execPath, [CLI, '--help'], { stdio: 'ignore' });
      startup = Math.min(startup, performance.now() - t);
      for (const [m, mode] of MODES.entries()) {
        const probe = path.join(work, `probe${i}-${m}`);
        fs.cpSync(template.root, probe, { recursive: true });
        t = performance.now();
        assert.equal((await runCompact(probe, mode)).code, 0);
        full[m] = Math.min(full[m]!, performance.now() - t);
      }
    }

    const random = prng(20261124);
    let killedMidway = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const root = path.join(work, `t${trial}`);
      fs.cpSync(template.root, root, { recursive: true });
      const k = trial % MODES.length;
      const delay = startup * 0.9 + random() * (full[k]! - startup * 0.9);
      const trialStart = performance.now();
      const r = await runCompact(root, MODES[k]!, delay);
      if (r.signal === 'SIGKILL') killedMidway++;
      // it finished before the kill: the machine is less busy than when the probes ran, so aim earlier
      else full[k] = Math.min(full[k]!, performance.now() - trialStart);
      const m = await Mesh.open(root);
      assert.deepEqual(m.verify().failures, [], `trial ${trial}, ${MODES[k]!.name} (killed after ${delay.toFixed(0)} ms)`);
      assert.deepEqual(m.frontier(), frontier, `trial ${trial}: a datagram was lost`);
      assert.deepEqual(await snapshot(m), expected, `trial ${trial}: the merge result changed`);
      assertNothingTorn(root);
      // the next run finishes the job
      await m.compact();
      for (const e of m.list()) assert.equal(m.store.readLog(e).length, 0, `trial ${trial}: ${e} not folded`);
      assert.deepEqual(await snapshot(m), expected);
      if (process.env.COCLI_MESH_KILL_TIMING) console.log(`# trial ${trial}: ${(performance.now() - trialStart).toFixed(0)} ms`);
      fs.rmSync(root, { recursive: true, force: true });
    }
    assert.ok(killedMidway >= TRIALS * 0.4, `only ${killedMidway} of ${TRIALS} runs were killed before finishing`);
    console.log(`# ${killedMidway} of ${TRIALS} compactions killed midway (start-up ${startup.toFixed(0)} ms, full runs ${full.map((t) => t.toFixed(0)).join(' and ')} ms)`);
  } finally {
    removeRoots(template);
    fs.rmSync(work, { recursive: true, force: true });
  }
});

for (const mode of MODES) {
  test(`updates written while another process compacts (${mode.name}) are all kept`, async () => {
    const m = await newReplica('concurrent');
    try {
      await m.updateMany(Array.from({ length: 200 }, (_, i) => ({ entity: `companies/co-${i}`, ops: [['s', 'name', `Co ${i}`]] as Op[] })));
      const compaction = runCompact(m.root, mode);
      for (let i = 0; i < 30; i++) await m.update(`companies/co-${i * 5}`, [['+', 'tags', `during-${i}`]]);
      assert.equal((await compaction).code, 0);
      const reopened = await Mesh.open(m.root);
      for (let i = 0; i < 30; i++) assert.deepEqual((await reopened.read(`companies/co-${i * 5}`)).fields.tags, [`during-${i}`]);
      assert.deepEqual(reopened.verify().failures, []);
      await reopened.compact();
      assert.deepEqual(reopened.verify().failures, []);
      assert.equal(reopened.store.allDatagrams('companies/co-0').length, 2);
    } finally {
      removeRoots(m);
    }
  });
}
