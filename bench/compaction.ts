// Compaction bench: a synthetic root (100,000 companies, 1,000,000 datagrams from 4 authors; --quick:
// 10,000 and 100,000); full compaction time and peak RSS, incremental compaction after 1% changed,
// and files per entity before and after.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../src/mesh/mesh.js';
import type { Op } from '../src/datagram/types.js';
import { buildSyntheticRoot } from './synthetic-root.js';
import { record } from './report.js';
import { scratchDir } from './scratch.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function filesPerEntity(root: string, sample: number): number {
  let total = 0;
  for (let i = 0; i < sample; i++) {
    const dir = path.join(root, 'companies', `company-${i}`);
    total += fs.readdirSync(dir).filter((f) => f !== 'updates').length + fs.readdirSync(path.join(dir, 'updates')).length;
  }
  return total / sample;
}

function compactInChild(root: string): { seconds: number; openSeconds: number; compacted: number; folded: number; maxRssMB: number } {
  spawnSync('sync'); // flush what generating the root left dirty, so the compaction's syncs pay only for its own writes
  const r = spawnSync(process.execPath, [path.join(here, 'compact-child.js'), root], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`compaction failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

export async function benchCompaction(opts: { quick: boolean }): Promise<void> {
  const companies = opts.quick ? 10_000 : 100_000;
  const perCompany = 10;
  const root = scratchDir('compaction-', path.join(here, '..', '..', '.bench-data'));
  let t = performance.now();
  const { datagrams } = await buildSyntheticRoot(root, companies, perCompany);
  record('compaction', `generate ${companies} companies, ${datagrams} datagrams`, (performance.now() - t) / 1000, 's');
  record('compaction', 'files per entity before', filesPerEntity(root, 100), 'files');

  const full = compactInChild(root);
  record('compaction', `full compaction of ${full.compacted} entities (${full.folded} datagrams)`, full.seconds, 's');
  record('compaction', 'full compaction: opening the root (index load)', full.openSeconds, 's');
  record('compaction', 'full compaction: peak RSS', full.maxRssMB, 'MB');
  record('compaction', 'files per entity after', filesPerEntity(root, 100), 'files');

  // 1% of the companies change, then an incremental run
  const mesh = await Mesh.open(root, { render: 'deferred' });
  const changed = companies / 100;
  const reqs = Array.from({ length: changed }, (_, i) => ({ entity: `companies/company-${i * 100}`, ops: [['s', 'reviews_count', 999]] as Op[] }));
  for (let i = 0; i < reqs.length; i += 1000) await mesh.updateMany(reqs.slice(i, i + 1000));
  await mesh.flush();
  t = performance.now();
  const inc = compactInChild(root);
  record('compaction', `incremental compaction after 1% changed (${inc.compacted} entities)`, inc.seconds, 's');
  record('compaction', 'incremental compaction: peak RSS', inc.maxRssMB, 'MB');
  record('compaction', 'incremental / full time', inc.seconds / full.seconds, 'ratio');
}
