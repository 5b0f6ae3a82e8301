// Foundation bench: durable signed writes through the library API (one per call, and batched),
// the size of one field-level datagram against the whole _index.md it replaces, and verifies per second.
import { Mesh } from '../src/mesh/mesh.js';
import { decodeDatagram } from '../src/datagram/codec.js';
import { verifyDatagram } from '../src/datagram/sign.js';
import { renderDocument } from '../src/cocli/document.js';
import type { Envelope } from '../src/datagram/types.js';
import { record } from './report.js';
import { scratchDir } from './scratch.js';

/** A realistic 5 KB company record, as today's whole-file sync ships it. */
export function realisticCompany(i: number): { fields: Record<string, unknown>; body: string } {
  const fields: Record<string, unknown> = {
    name: `Company ${i} Roofing & Restoration LLC`,
    domain: `company-${i}.example.com`,
    type: 'N/A',
    tags: ['prospect', 'roofing', `batch-${i % 50}`],
    slug: `company-${i}`,
    keywords: ['roofing', 'restoration', 'storm damage', 'gutters', 'siding'],
    full_address: `${100 + (i % 900)} Main Street, Suite ${i % 300}, Austin, TX 78701`,
    street_address: `${100 + (i % 900)} Main Street`,
    city: 'Austin',
    zip_code: '78701',
    state: 'TX',
    country: 'US',
    phone_number: '15125551234',
    email: `info@company-${i}.example.com`,
    website_url: `https://company-${i}.example.com/`,
    all_emails: [`info@company-${i}.example.com`, `sales@company-${i}.example.com`],
    tech_stack: ['WordPress', 'Google Analytics', 'jQuery', 'Cloudflare'],
    categories: ['Roofing contractor', 'Gutter cleaning service'],
    reviews_count: 120 + (i % 50),
    average_rating: 4.5,
    hours: 'Mon-Fri 8:00-17:00; Sat 9:00-13:00',
    latitude: 30.2672,
    longitude: -97.7431,
    facebook_url: `https://facebook.com/company${i}`,
    linkedin_url: `https://linkedin.com/company/company-${i}`,
    services: ['Roof repair', 'Roof replacement', 'Storm damage', 'Insurance claims', 'Gutters'],
    products: ['Asphalt shingles', 'Metal roofing'],
    meta_description: 'Family-owned roofing and restoration company serving Central Texas since 1998. '.repeat(3),
    meta_keywords: 'roofing, roof repair, austin roofing, storm damage, insurance claims',
    place_id: `ChIJ${'x'.repeat(23)}${i}`,
    last_enriched: '2026-02-01T12:00:00Z',
    gmb_url: `https://maps.google.com/?cid=${1_000_000 + i}`,
  };
  const body = 'Notes from the first call: interested in the spring campaign, asked for references. '.repeat(30);
  return { fields, body };
}

export async function benchFoundation(opts: { quick: boolean }): Promise<void> {
  const root = scratchDir('cocli-mesh-bench-');
  const mesh = await Mesh.init(root, { name: 'bench', cluster: 'bench' });
  // one datagram per call: each call is its own durable transaction (journal fdatasync)
  const singles = opts.quick ? 300 : 2000;
  await mesh.update('companies/warm-up', [['s', 'name', 'Warm up']]);
  let t = performance.now();
  for (let i = 0; i < singles; i++) await mesh.update('companies/single-co', [['s', 'name', `Name ${i}`]]);
  let s = (performance.now() - t) / 1000;
  record('foundation', 'durable signed writes, one datagram per call (render included)', singles / s, 'datagrams/s');

  const deferred = await Mesh.open(root, { render: 'deferred' });
  for (const [batch, entities] of [[100, 1000], [1000, 1000], [1000, 10]] as const) {
    const total = opts.quick ? 10_000 : 50_000;
    await deferred.updateMany(Array.from({ length: entities }, (_, i) => ({ entity: `companies/co-${batch}-${entities}-${i}`, ops: [['s', 'name', `Co ${i}`]] as [['s', string, string]] })));
    await deferred.flush();
    t = performance.now();
    for (let done = 0; done < total; done += batch) {
      const reqs = Array.from({ length: batch }, (_, k) => ({ entity: `companies/co-${batch}-${entities}-${(done + k) % entities}`, ops: [['s', 'reviews_count', done + k]] as [['s', string, number]] }));
      await deferred.updateMany(reqs);
    }
    s = (performance.now() - t) / 1000;
    record('foundation', `durable signed writes, batches of ${batch}, ${entities} companies`, total / s, 'datagrams/s');
    t = performance.now();
    await deferred.flush();
    record('foundation', `re-render ${entities} companies after that run`, performance.now() - t, 'ms');
  }

  // size of one datagram against the file today's whole-file sync re-ships
  const name = 'N'.repeat(100);
  const first = (await mesh.update('companies/size-probe', [['s', 'name', name]]));
  const second = await mesh.update('companies/size-probe', [['s', 'name', name.replace(/N$/, 'M')]]);
  const doc = realisticCompany(1);
  const docBytes = Buffer.byteLength(renderDocument('company', { ...doc.fields, name }, doc.body));
  record('foundation', 'datagram setting a 100-byte name, first write (0 parents)', first.bytes.length, 'bytes');
  record('foundation', 'datagram setting a 100-byte name, later write (1 parent)', second.bytes.length, 'bytes');
  record('foundation', '_index.md the whole-file sync ships instead', docBytes, 'bytes');
  record('foundation', 'whole file / datagram (1 parent)', docBytes / second.bytes.length, 'ratio');

  // verification: strict decode + CID + signature, from bytes alone
  const envs: Envelope[] = await deferred.store.transaction(() => deferred.datagramsSince({}));
  const n = Math.min(envs.length, opts.quick ? 5000 : 30_000);
  t = performance.now();
  for (let i = 0; i < n; i++) verifyDatagram(decodeDatagram(envs[i]!.bytes, envs[i]!.cid), 'bench');
  s = (performance.now() - t) / 1000;
  record('foundation', 'verifies (decode + CID + signature)', n / s, 'datagrams/s');
}
