// Cross-check with the real loader cocli uses: PyYAML's safe_load must read every
// rendered frontmatter (split exactly as cocli splits it) as the intended values.
// Skipped, with a message, when python3 or PyYAML is not installed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { fieldType, renderDocument } from '../../src/cocli/index.js';
import { companyDocument } from './arbitraries.js';

/** The first Python that has PyYAML: $PYTHON, then python3 on the PATH, then Debian's (python3-yaml). */
const PYTHON =
  [process.env.PYTHON, 'python3', '/usr/bin/python3'].find((p) => p && spawnSync(p, ['-c', 'import yaml'], { encoding: 'utf8' }).status === 0) ?? 'python3';

function havePyYaml(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import yaml'], { encoding: 'utf8' });
  return r.status === 0;
}

// Loads each file as cocli's Company.from_directory does (read_text, startswith('---'),
// split('---', 2), yaml.safe_load(...) or {}, body = parts[2].strip()) and reports
// the values as JSON, plus the Python type of every top-level value.
const LOADER = String.raw`
import json, sys, yaml
manifest = json.load(open(sys.argv[1], encoding='utf-8'))
out = []
for item in manifest:
    text = open(item['path'], encoding='utf-8').read()
    ok = text.startswith('---') and '---' in text[3:]
    parts = text.split('---', 2)
    data = yaml.safe_load(parts[1]) or {}
    want_body = item['body'].replace('\r\n', '\n').replace('\r', '\n').strip()
    out.append({
        'ok': ok,
        'fields': data,
        'types': {k: type(v).__name__ for k, v in data.items()},
        'body_ok': parts[2].strip() == want_body,
    })
json.dump(out, sys.stdout)
`;

const FIXED: Array<Record<string, unknown>> = [
  {
    name: 'Acme Inc', domain: 'acme.com', type: 'N/A', tags: ['prospect', 'vip'], slug: 'acme-inc',
    zip_code: '01234', phone_number: '15125551234', last_enriched: '2026-02-01T12:00:00Z', average_rating: 4,
    reviews_count: 12, email_contexts: { 'a@b.com': 'sales' }, keywords: [], categories: ['Plumber'],
  },
  {
    name: 'Café Zürich \u{1F600} 東京', city: '78701', state: '9:30', country: 'yes', timezone: 'no', hours: 'on',
    meta_keywords: 'null', meta_description: '~', business_status: 'true', place_id: '1e3', processed_by: '0x1F',
    gmb_url: '2026-01-01', website_url: 'A --- B', street_address: '- leading', full_address: '#hash',
    facebook_url: '@at', linkedin_url: '&amp', instagram_url: '*star', twitter_url: 'a: b #c', youtube_url: 'end:',
    latitude: 30.2672, longitude: -97.7431, visits_per_day: 0, enrichment_ttl_days: 30,
    notes: 'line one\nline two\n\ttabbed', extra: { nested: [1, 2.5, true, null, { deep: ['x---y'] }] },
    'weird key: #1': '', '---': '---', long: 'L'.repeat(300),
  },
  { name: 'N', tags: [], email_contexts: {}, custom_float: 1e21, custom_small: 1e-7, neg_zero: -0 },
  { name: 'x'.repeat(120) },
  { name: 'explicit key', ['k'.repeat(1100)]: ['a', 'b'], ['m'.repeat(1100)]: { z: 1 } },
];

test('PyYAML safe_load reads every rendered document as intended', (t) => {
  if (!havePyYaml()) {
    t.skip(`${PYTHON} with PyYAML is not available; skipping the PyYAML cross-check`);
    return;
  }
  const samples = fc.sample(companyDocument, { seed: 42, numRuns: 200 });
  const docs = [...FIXED.map((fields, i) => ({ fields, body: i % 2 === 0 ? 'Body with --- dashes\n\nand more' : '' })), ...samples];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-pyyaml-'));
  try {
    const manifest = docs.map((d, i) => {
      const text = renderDocument('company', d.fields, d.body);
      const frontmatter = text.split('---')[1]!;
      for (const line of frontmatter.split('\n')) assert.ok(!line.includes('---'), `doc ${i}: ${line}`);
      const p = path.join(dir, `${i}.md`);
      fs.writeFileSync(p, text, 'utf8');
      return { path: p, body: d.body };
    });
    const manifestPath = path.join(dir, 'manifest.json');
    fs.writeFileSync(manifestPath, JSON.stringify(manifest), 'utf8');
    const r = spawnSync(PYTHON, ['-c', LOADER, manifestPath], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as Array<{
      ok: boolean;
      fields: Record<string, unknown>;
      types: Record<string, string>;
      body_ok: boolean;
    }>;
    assert.equal(results.length, docs.length);
    results.forEach((res, i) => {
      const { fields } = docs[i]!;
      const intended = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null && v !== undefined));
      const label = `doc ${i}: ${JSON.stringify(fields).slice(0, 300)}`;
      assert.ok(res.ok, `${label}: cocli would not see frontmatter`);
      assert.ok(res.body_ok, `${label}: body differs`);
      // compare through JSON on both sides (JSON.stringify turns -0 into 0; Python writes -0.0)
      assert.deepStrictEqual(JSON.parse(JSON.stringify(res.fields)), JSON.parse(JSON.stringify(intended)), label);
      for (const [k, v] of Object.entries(intended)) {
        const type = fieldType('company', k);
        const py = res.types[k];
        if (type === 'float') assert.equal(py, 'float', `${label}: ${k}`);
        else if (type === 'int') assert.equal(py, 'int', `${label}: ${k}`);
        else if (type === 'string' || type === 'datetime' || typeof v === 'string') assert.equal(py, 'str', `${label}: ${k}`);
        else if (type === 'list') assert.equal(py, 'list', `${label}: ${k}`);
        else if (type === 'map') assert.equal(py, 'dict', `${label}: ${k}`);
        else if (typeof v === 'boolean') assert.equal(py, 'bool', `${label}: ${k}`);
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
