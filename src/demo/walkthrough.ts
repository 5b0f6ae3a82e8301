// `npm start` (until the networked cluster lands): a self-contained walkthrough on temporary data roots.
// A laptop that already has a cocli CRM and a Raspberry Pi that starts empty write concurrent updates,
// exchange packs (CAR files), and converge; it prints what happened and where the files are.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mesh } from '../mesh/mesh.js';
import { renderDocument } from '../cocli/document.js';
import { renderTagsList } from '../cocli/tags.js';
import { formatLogLine } from '../cli/format.js';

const SAMPLES = [
  { slug: 'acme-inc', name: 'Acme Inc', domain: 'acme.com', tags: ['prospect'], zip_code: '01234', body: 'Roofing supplier; met at the 2026 trade show.' },
  { slug: 'bright-dental', name: 'Bright Dental', domain: 'brightdental.example', tags: ['lead'], zip_code: '78701', body: '' },
  { slug: 'cafe-zurich', name: 'Café Zürich', domain: 'cafe-zurich.example', tags: [], zip_code: '8001', body: 'Asked us to call back after 9:30.' },
];

const step = (text: string) => console.log(`\n== ${text}`);

async function exchange(from: Mesh, to: Mesh, dir: string, label: string): Promise<void> {
  const file = path.join(dir, `${label}.car`);
  const sinceFile = path.join(dir, `${label}.frontier.json`);
  fs.writeFileSync(sinceFile, JSON.stringify(to.frontier()));
  const out = await from.exportPack(file, to.frontier());
  const r = await to.importPack(file);
  console.log(`   ${from.config.name} -> ${to.config.name}: pack of ${out.datagrams} datagrams (${out.bytes} bytes); applied ${r.applied}, duplicates ${r.duplicates}, pending ${r.pending}, invalid ${r.invalid.length}`);
}

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-mesh-walkthrough-'));
  const laptopRoot = path.join(base, 'laptop');
  const piRoot = path.join(base, 'pi');
  const packs = path.join(base, 'packs');
  fs.mkdirSync(packs, { recursive: true });

  step('A laptop with an existing cocli data root (written by cocli, before cocli-mesh)');
  for (const s of SAMPLES) {
    const dir = path.join(laptopRoot, 'companies', s.slug);
    fs.mkdirSync(dir, { recursive: true });
    const { slug, body, ...fields } = s;
    fs.writeFileSync(path.join(dir, '_index.md'), renderDocument('company', { ...fields, slug }, body));
    fs.writeFileSync(path.join(dir, 'tags.lst'), renderTagsList(s.tags));
    console.log(`   ${path.join(dir, '_index.md')}`);
  }

  step('Both nodes get an identity (an Ed25519 key = their libp2p PeerID)');
  const laptop = await Mesh.init(laptopRoot, { name: 'laptop', cluster: 'walkthrough' });
  const pi = await Mesh.init(piRoot, { name: 'pi-scraper-1', cluster: 'walkthrough' });
  console.log(`   laptop        ${laptop.peerId}\n   pi-scraper-1  ${pi.peerId}`);

  step('The laptop adopts its existing companies and the Pi catches up from a pack');
  for (const s of SAMPLES) await laptop.read(`companies/${s.slug}`);
  await exchange(laptop, pi, packs, '1-laptop-to-pi');

  step('Concurrent edits while apart: both set the phone of acme-inc, tag it, and the Pi enriches reviews');
  await laptop.update('companies/acme-inc', [['s', 'phone_number', '15125550001'], ['+', 'tags', 'vip']]);
  await pi.update('companies/acme-inc', [['s', 'phone_number', '15125550002'], ['+', 'tags', 'enriched'], ['s', 'reviews_count', 42], ['s', 'average_rating', 4.5]]);
  await pi.update('companies/bright-dental', [['-', 'tags', 'lead'], ['+', 'tags', 'customer']]);

  step('They exchange packs in both directions');
  await exchange(laptop, pi, packs, '2-laptop-to-pi');
  await exchange(pi, laptop, packs, '3-pi-to-laptop');

  step('Both data roots now hold byte-identical cocli files');
  let identical = true;
  for (const s of SAMPLES) {
    for (const f of ['_index.md', 'tags.lst']) {
      const a = fs.readFileSync(path.join(laptopRoot, 'companies', s.slug, f), 'utf8');
      const b = fs.readFileSync(path.join(piRoot, 'companies', s.slug, f), 'utf8');
      if (a !== b) identical = false;
    }
  }
  console.log(`   identical: ${identical}`);
  console.log(`\n   ${path.join(piRoot, 'companies/acme-inc/_index.md')}:\n`);
  console.log(fs.readFileSync(path.join(piRoot, 'companies/acme-inc/_index.md'), 'utf8').replace(/^/gm, '     '));

  const view = await laptop.read('companies/acme-inc');
  step('The concurrent phone numbers: one deterministic winner, the other kept visible as a conflict');
  for (const c of view.conflicts) for (const l of c.losers) console.log(`   ${c.field}: ${JSON.stringify(c.winner)} won; ${JSON.stringify(l.value)} is kept as a conflict`);

  step('The audit trail of acme-inc (cocli-mesh log)');
  for (const env of laptop.store.allDatagrams('companies/acme-inc')) console.log(`   ${formatLogLine(laptop, env)}`);

  const report = laptop.verify();
  step(`verify: ${report.failures.length === 0 ? 'ok' : 'FAILED'}, ${report.datagrams} datagrams re-verified from their bytes`);
  console.log(`\nEverything is under ${base}\n  try: ./bin/cocli-mesh.js --data ${laptopRoot} log companies/acme-inc\n  remove it with: rm -rf ${base}`);
  if (!identical || report.failures.length) process.exitCode = 1;
}

await main();
