// Property tests of invariant 1 and 2: replicas that exchange datagrams in any order, with duplicates,
// loss plus catch-up, and parents arriving after children, render byte-identical cocli files; skewed
// wall clocks change nothing; a causally later write always wins.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { Mesh } from '../../src/mesh/mesh.js';
import type { Op } from '../../src/datagram/types.js';
import { cocliFiles, missingBytes, newReplica, removeRoots, tempDir } from '../support/replicas.js';
import { writePack } from '../../src/pack/pack.js';

const ENTITIES = ['companies/acme-inc', 'companies/beta-co', 'people/jane-doe'];
const TAGS = ['prospect', 'vip', 'lead', 'cold'];
const NAMES = ['Acme', 'Acme Inc', 'ACME', '01234', 'yes', 'A --- B', 'Café Zürich'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.constantFrom(...NAMES).map((n): Op => ['s', 'name', n]),
  fc.constantFrom('acme.com', 'acme.io', '9:30').map((d): Op => ['s', 'domain', d]),
  fc.constant<Op>(['u', 'domain']),
  fc.integer({ min: 0, max: 500 }).map((n): Op => ['s', 'reviews_count', n]),
  fc.constantFrom(...TAGS).map((t): Op => ['+', 'tags', t]),
  fc.constantFrom(...TAGS).map((t): Op => ['-', 'tags', t]),
  fc.constantFrom('a@x.com', 'b@x.com').map((k): Op => ['m', 'email_contexts', k, 'sales']),
  fc.constantFrom('a@x.com', 'b@x.com').map((k): Op => ['x', 'email_contexts', k]),
  fc.constantFrom('Line one', 'Two\nlines', '').map((b): Op => ['b', b]),
  fc.constantFrom('keep', 'x: y').map((v): Op => ['s', 'custom_key', v]),
);

/** Removes ops a person entity does not have and ops on one field twice (one datagram sets a field once). */
function legal(entity: string, ops: Op[]): Op[] {
  const seen = new Set<string>();
  const out: Op[] = [];
  for (const op of ops) {
    if (entity.startsWith('people/') && (op[1] === 'email_contexts' || op[1] === 'reviews_count' || op[1] === 'domain')) continue;
    const key = op[0] === 'b' ? 'body' : op[0] === 'm' || op[0] === 'x' || op[0] === '+' || op[0] === '-' ? `${op[1]}:${op[2]}` : op[1];
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(op);
  }
  return out;
}

type Step =
  | { kind: 'write'; replica: number; entity: number; ops: Op[] }
  | { kind: 'sync'; from: number; to: number; keep: number[]; dup: number; order: number }
  | { kind: 'compact'; replica: number; entity: number };

const stepArb = (n: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), replica: fc.nat(n - 1), entity: fc.nat(ENTITIES.length - 1), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }) }) },
    // compaction at random points on random replicas: one entity, or (entity = -1) everything changed
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), replica: fc.nat(n - 1), entity: fc.integer({ min: -1, max: ENTITIES.length - 1 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('sync' as const),
        from: fc.nat(n - 1),
        to: fc.nat(n - 1),
        keep: fc.array(fc.boolean().map((b) => (b ? 1 : 0)), { minLength: 8, maxLength: 8 }),
        dup: fc.nat(3),
        order: fc.nat(1_000_000),
      }),
    },
  );

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function ensureNamed(m: Mesh, entity: string): Promise<void> {
  const view = await m.read(entity);
  if (view.fields.name === undefined) await m.update(entity, [['s', 'name', 'Seed']]);
}

async function runSchedule(replicas: Mesh[], steps: Step[]): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'write') {
      const m = replicas[step.replica]!;
      const entity = ENTITIES[step.entity]!;
      await ensureNamed(m, entity);
      const ops = legal(entity, step.ops).filter((o) => !(o[0] === 'u' && o[1] === 'name'));
      if (ops.length) await m.update(entity, ops);
    } else if (step.kind === 'compact') {
      const m = replicas[step.replica]!;
      await m.compact(step.entity < 0 ? {} : { entities: [ENTITIES[step.entity]!] });
    } else {
      if (step.from === step.to) continue;
      const from = replicas[step.from]!;
      const to = replicas[step.to]!;
      // loss: some datagrams are dropped (children may arrive without their parents), others duplicated,
      // all in a random order
      const envs = (await missingBytes(from, to)).filter((_, i) => step.keep[i % step.keep.length] === 1);
      const delivered = shuffle([...envs, ...envs.slice(0, step.dup)], step.order);
      await to.importDatagrams(delivered.map((e) => ({ bytes: e.bytes, cid: e.cid })));
    }
  }
}

/** Full exchange until every replica holds everything (catch-up after loss). */
async function exchangeAll(replicas: Mesh[], seed: number): Promise<void> {
  for (let round = 0; round < 2; round++) {
    for (const from of replicas) {
      for (const to of replicas) {
        if (from === to) continue;
        const envs = shuffle(await missingBytes(from, to), seed + round);
        await to.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
      }
    }
  }
  for (const r of replicas) await r.flush();
}

test('replicas converge to byte-identical _index.md and tags.lst under random schedules, wherever compaction ran', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 3, max: 5 }).chain((n) => fc.tuple(fc.constant(n), fc.array(stepArb(n), { minLength: 5, maxLength: 30 }), fc.nat(1000))),
      async ([n, steps, seed]) => {
        const replicas: Mesh[] = [];
        try {
          for (let i = 0; i < n; i++) {
            // skewed wall clocks: hours apart, some in the past, some in the future
            const skew = ((i * 7919 + seed) % 11 - 5) * 3_600_000;
            replicas.push(await newReplica(`r${i}`, { clock: () => 1_700_000_000_000 + skew }));
          }
          await runSchedule(replicas, steps);
          await exchangeAll(replicas, seed);
          const frontiers = replicas.map((r) => JSON.stringify(Object.entries(r.frontier()).sort()));
          assert.equal(new Set(frontiers).size, 1, 'frontiers differ after full exchange');
          const files = replicas.map((r) => cocliFiles(r.root));
          for (let i = 1; i < n; i++) assert.deepEqual(files[i], files[0], `replica ${i} differs from replica 0`);
          for (const r of replicas) assert.deepEqual(r.verify().failures, []);
          // compacting everything everywhere changes nothing that cocli reads
          for (const r of replicas) await r.compact();
          assert.deepEqual(replicas.map((r) => cocliFiles(r.root)), files);
          // a causally later write wins everywhere, with no conflict left on that field
          const last = replicas[seed % n]!;
          await ensureNamed(last, ENTITIES[0]!);
          await last.update(ENTITIES[0]!, [['s', 'name', 'Final Name']]);
          await exchangeAll(replicas, seed + 1);
          for (const r of replicas) {
            const view = await r.read(ENTITIES[0]!);
            assert.equal(view.fields.name, 'Final Name');
            assert.ok(!view.conflicts.some((c) => c.field === 'name'));
          }
        } finally {
          removeRoots(...replicas);
        }
      },
    ),
    { seed: 20261124, numRuns: 25 },
  );
});

test('wall-clock skew changes nothing: the same schedule under other clocks renders the same files', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb(3), { minLength: 5, maxLength: 25 }), fc.nat(1000), async (steps, seed) => {
      const runs: Record<string, string>[] = [];
      const keys: Buffer[] = [];
      for (const skews of [[0, 0, 0], [9e8, -9e8, 123_456_789]]) {
        const replicas: Mesh[] = [];
        try {
          for (let i = 0; i < 3; i++) {
            const root = tempDir();
            if (keys[i]) {
              // the same identity in both runs, so only the clocks differ
              fs.mkdirSync(path.join(root, '.mesh'));
              fs.writeFileSync(path.join(root, '.mesh', 'key'), keys[i]!, { mode: 0o600 });
              fs.writeFileSync(path.join(root, '.mesh', 'config.json'), JSON.stringify({ name: `r${i}`, cluster: 'test' }));
              const m = await Mesh.open(root, { clock: () => 1_700_000_000_000 + skews[i]! });
              await m.update('_cluster', [['m', 'nodes', m.peerId, `r${i}`]]);
              replicas.push(m);
            } else {
              await Mesh.init(root, { name: `r${i}`, cluster: 'test' });
              keys[i] = fs.readFileSync(path.join(root, '.mesh', 'key'));
              replicas.push(await Mesh.open(root, { clock: () => 1_700_000_000_000 + skews[i]! }));
            }
          }
          await runSchedule(replicas, steps);
          await exchangeAll(replicas, seed);
          runs.push(cocliFiles(replicas[0]!.root));
        } finally {
          removeRoots(...replicas);
        }
      }
      assert.deepEqual(runs[1], runs[0]);
    }),
    { seed: 7, numRuns: 10 },
  );
});

test('packs exchanged as CAR files, children before parents, converge', async () => {
  const a = await newReplica('a');
  const b = await newReplica('b');
  const dir = tempDir();
  try {
    await a.update('companies/acme-inc', [['s', 'name', 'Acme'], ['+', 'tags', 'vip']]);
    await a.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    await a.update('companies/acme-inc', [['-', 'tags', 'vip'], ['+', 'tags', 'lead']]);
    const envs = await missingBytes(a, b);
    // one pack per datagram, imported newest first: each waits in the pending set until its parents arrive
    const packs: string[] = [];
    for (const [i, env] of envs.entries()) {
      const file = path.join(dir, `p${i}.car`);
      await writePack(file, [env]);
      packs.push(file);
    }
    for (const file of packs.reverse()) {
      const r = await b.importPack(file);
      assert.equal(r.invalid.length, 0);
    }
    assert.equal((await b.importPack(packs[0]!)).duplicates, 1);
    await b.flush();
    assert.deepEqual(cocliFiles(b.root), cocliFiles(a.root));
    assert.equal(fs.readFileSync(path.join(b.root, 'companies/acme-inc/tags.lst'), 'utf8'), 'lead\n');
  } finally {
    removeRoots(a, b);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
