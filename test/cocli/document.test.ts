// Tests for src/cocli/document.ts: cocli's _index.md layout, the writing rules of
// COCLI_FORMAT.md, YAML 1.1 (PyYAML) quoting, and reading foreign layouts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CocliFormatError, parseDocument, renderDocument } from '../../src/cocli/index.js';

const DOC_EXAMPLE = [
  '---',
  'name: Acme Inc',
  'domain: acme.com',
  'type: N/A',
  'tags:',
  '- prospect',
  '- vip',
  'slug: acme-inc',
  "zip_code: '01234'",
  "phone_number: '15125551234'",
  "last_enriched: '2026-02-01T12:00:00Z'",
  'average_rating: 4.5',
  'reviews_count: 12',
  '---',
  '',
  'Free-text description (the Markdown body).',
  '',
].join('\n');

const EXAMPLE_FIELDS = {
  name: 'Acme Inc',
  domain: 'acme.com',
  type: 'N/A',
  tags: ['prospect', 'vip'],
  slug: 'acme-inc',
  zip_code: '01234',
  phone_number: '15125551234',
  last_enriched: '2026-02-01T12:00:00Z',
  average_rating: 4.5,
  reviews_count: 12,
};

/** The frontmatter text exactly as cocli splits it. */
function frontmatterOf(text: string): string {
  const parts = text.split('---');
  assert.ok(parts.length >= 3, 'file has two --- markers');
  return parts[1]!;
}

/** The single frontmatter line for `key` (asserts there is exactly one). */
function lineOf(text: string, key: string): string {
  const lines = frontmatterOf(text).split('\n').filter((l) => l.startsWith(`${key}:`));
  assert.equal(lines.length, 1, `one line for ${key}`);
  return lines[0]!;
}

function roundTrip(fields: Record<string, unknown>, body = ''): { text: string; fields: Record<string, unknown>; body: string } {
  const text = renderDocument('company', fields, body);
  const doc = parseDocument(text, 'test');
  return { text, fields: doc.fields, body: doc.body };
}

test('layout: the doc example, written as cocli writes it (keys in model order)', () => {
  // Key order comes from the model, not from the input object. (The doc's example lists
  // last_enriched before average_rating/reviews_count; the model order puts it after.)
  const shuffled = Object.fromEntries(Object.entries(EXAMPLE_FIELDS).reverse());
  const modelOrder = DOC_EXAMPLE.replace(
    "last_enriched: '2026-02-01T12:00:00Z'\naverage_rating: 4.5\nreviews_count: 12\n",
    "reviews_count: 12\naverage_rating: 4.5\nlast_enriched: '2026-02-01T12:00:00Z'\n",
  );
  assert.notEqual(modelOrder, DOC_EXAMPLE);
  assert.equal(renderDocument('company', shuffled, 'Free-text description (the Markdown body).'), modelOrder);
  const doc = parseDocument(DOC_EXAMPLE, 'acme-inc/_index.md');
  assert.deepEqual(doc.fields, EXAMPLE_FIELDS);
  assert.deepEqual(doc.keyOrder, Object.keys(EXAMPLE_FIELDS));
  assert.equal(doc.body, 'Free-text description (the Markdown body).');
});

test('layout: no body gives just the frontmatter; empty list [], empty map {}, map indented 2', () => {
  const text = renderDocument('company', { name: 'X Co', tags: [], email_contexts: {}, keywords: ['a'] }, '');
  assert.equal(text, '---\nname: X Co\ntags: []\nkeywords:\n- a\nemail_contexts: {}\n---\n');
  const t2 = renderDocument('company', { name: 'X Co', email_contexts: { 'a@b.com': 'sales', 'c@d.com': 'support: 24/7' } }, '  \n');
  assert.equal(t2, "---\nname: X Co\nemail_contexts:\n  a@b.com: sales\n  c@d.com: 'support: 24/7'\n---\n");
  assert.deepEqual(parseDocument(text, 't').fields, { name: 'X Co', tags: [], email_contexts: {}, keywords: ['a'] });
});

test('layout: known keys in model order, then unknown keys by code point; deterministic', () => {
  const a = renderDocument('company', { zeta: 1, Zed: 2, name: 'Acme', 'é': 3, alpha: 4, domain: 'd.com', '\u{1F600}': 5, '\uFF5E': 6 }, '');
  const b = renderDocument('company', { '\uFF5E': 6, '\u{1F600}': 5, domain: 'd.com', alpha: 4, 'é': 3, name: 'Acme', Zed: 2, zeta: 1 }, '');
  assert.equal(a, b);
  const keys = frontmatterOf(a).split('\n').filter((l) => l !== '').map((l) => l.slice(0, l.indexOf(':')));
  assert.deepEqual(keys, ['name', 'domain', 'Zed', 'alpha', 'zeta', '"\\xE9"', '"\\uFF5E"', '"\\U0001F600"']);
});

test('layout: person documents use the person key order', () => {
  const text = renderDocument('person', { tags: ['x'], role: 'CEO', name: 'Jane Doe', email: 'jane@acme.com', extra: 'e' }, '# Jane Doe');
  assert.equal(text, '---\nname: Jane Doe\nemail: jane@acme.com\nrole: CEO\ntags:\n- x\nextra: e\n---\n\n# Jane Doe\n');
});

test('rule 1: no frontmatter line contains ---, in values or keys', () => {
  const fields = {
    name: 'A --- B',
    domain: '---',
    city: '----- five',
    custom: ['x---y', { 'k---': '--' }],
    '---key': 'v',
  };
  const { text, fields: back } = roundTrip(fields, 'body with --- inside\n---\nmore');
  for (const line of frontmatterOf(text).split('\n')) assert.ok(!line.includes('---'), line);
  assert.equal(lineOf(text, 'name'), 'name: "A -\\x2D- B"');
  assert.equal(text.split('---', 3).length, 3);
  assert.deepEqual(back, fields);
  assert.equal(parseDocument(text, 't').body, 'body with --- inside\n---\nmore');
});

test('rule 2: strings YAML 1.1 would read as something else are quoted', () => {
  const cases: Array<[string, string]> = [
    ['01234', "'01234'"],
    ['78701', "'78701'"],
    ['9:30', "'9:30'"],
    ['yes', "'yes'"],
    ['no', "'no'"],
    ['on', "'on'"],
    ['Off', "'Off'"],
    ['y', "'y'"],
    ['N', "'N'"],
    ['null', "'null'"],
    ['~', "'~'"],
    ['true', "'true'"],
    ['FALSE', "'FALSE'"],
    ['1e3', "'1e3'"],
    ['0x1F', "'0x1F'"],
    ['0b101', "'0b101'"],
    ['1_000', "'1_000'"],
    ['.5', "'.5'"],
    ['.inf', "'.inf'"],
    ['-1.5', "'-1.5'"],
    ['+1', "'+1'"],
    ['2026-01-01', "'2026-01-01'"],
    ['2026-01-01 10:00:00', "'2026-01-01 10:00:00'"],
    ['- leading dash', "'- leading dash'"],
    ['-x', "'-x'"],
    ['#hashtag', "'#hashtag'"],
    ['@handle', "'@handle'"],
    ['&anchor', "'&anchor'"],
    ['*alias', "'*alias'"],
    ['!tag', "'!tag'"],
    ['|pipe', "'|pipe'"],
    ['>folded', "'>folded'"],
    ["'quoted'", "'''quoted'''"],
    ['"dq"', "'\"dq\"'"],
    ['%pct', "'%pct'"],
    ['{brace', "'{brace'"],
    ['[bracket', "'[bracket'"],
    [',comma', "',comma'"],
    ['?q', "'?q'"],
    [':colon', "':colon'"],
    ['`tick', "'`tick'"],
    ['<<', "'<<'"],
    ['=', "'='"],
    ['key: value', "'key: value'"],
    ['a #comment', "'a #comment'"],
    ['ends with:', "'ends with:'"],
    ['', "''"],
    [' lead', "' lead'"],
    ['trail ', "'trail '"],
    ["it's", "it's"],
    ['Acme, Inc.', 'Acme, Inc.'],
    ['http://acme.com/a#b', 'http://acme.com/a#b'],
    ['a@b.com', 'a@b.com'],
    ['C# shop', 'C# shop'],
    ['Yes Please', 'Yes Please'],
  ];
  for (const [value, expected] of cases) {
    const { text, fields } = roundTrip({ name: 'Acme', city: value });
    assert.equal(lineOf(text, 'city'), `city: ${expected}`, JSON.stringify(value));
    assert.equal(fields.city, value, JSON.stringify(value));
  }
});

test('rule 2: non-ASCII, control characters and newlines are double-quoted and load back identically', () => {
  const cases: Array<[string, string]> = [
    ['Café Zürich', '"Caf\\xE9 Z\\xFCrich"'],
    ['emoji \u{1F600}', '"emoji \\U0001F600"'],
    ['東京タワー', '"\\u6771\\u4EAC\\u30BF\\u30EF\\u30FC"'],
    ['tab\there', '"tab\\there"'],
    ['line1\nline2', '"line1\\nline2"'],
    ['nul\u0000bell\u0007del\u007f', '"nul\\x00bell\\x07del\\x7F"'],
    ['back\\slash "q"', 'back\\slash "q"'],
    ['nbsp\u00a0x', '"nbsp\\xA0x"'],
    ['ls\u2028ps\u2029nel\u0085', '"ls\\u2028ps\\u2029nel\\x85"'],
    ['bom\ufeff', '"bom\\uFEFF"'],
    ['q"\\\n', '"q\\"\\\\\\n"'],
  ];
  for (const [value, expected] of cases) {
    const { text, fields } = roundTrip({ name: value, city: value });
    assert.equal(lineOf(text, 'city'), `city: ${expected}`, JSON.stringify(value));
    assert.equal(fields.city, value);
    assert.equal(fields.name, value);
    assert.match(frontmatterOf(text), /^[\x20-\x7e\n]*$/, 'frontmatter is printable ASCII');
  }
});

test('rule 2: numbers, floats and booleans are written so YAML 1.1 keeps their type', () => {
  const { text, fields } = roundTrip({
    name: 'Acme',
    average_rating: 4,
    latitude: -0,
    longitude: 1e21,
    reviews_count: 12,
    visits_per_day: 0,
    custom_float: 2.5,
    custom_big: 1e-7,
    flag: true,
    off: false,
  });
  assert.equal(lineOf(text, 'average_rating'), 'average_rating: 4.0');
  assert.equal(lineOf(text, 'latitude'), 'latitude: -0.0');
  assert.equal(lineOf(text, 'longitude'), 'longitude: 1.0e+21');
  assert.equal(lineOf(text, 'reviews_count'), 'reviews_count: 12');
  assert.equal(lineOf(text, 'custom_big'), 'custom_big: 1.0e-7');
  assert.equal(lineOf(text, 'flag'), 'flag: true');
  assert.ok(frontmatterOf(text).includes("\n'off': false\n"));
  assert.deepEqual(fields, {
    name: 'Acme', average_rating: 4, latitude: -0, longitude: 1e21, reviews_count: 12, visits_per_day: 0,
    custom_float: 2.5, custom_big: 1e-7, flag: true, off: false,
  });
});

test('rule 3: null and undefined are omitted, never written as null', () => {
  const text = renderDocument('company', { name: 'Acme', type: null, tags: null, email_contexts: undefined, domain: undefined, other: null }, '');
  assert.equal(text, '---\nname: Acme\n---\n');
  assert.ok(!/null/.test(text));
  // and a null read from a file is dropped, as cocli treats it as None
  const doc = parseDocument('---\nname: Acme\ntype: null\ntags: ~\ndomain:\n---\n', 't');
  assert.deepEqual(doc.fields, { name: 'Acme' });
  assert.deepEqual(doc.keyOrder, ['name']);
});

test('rule 4: key fields are on single lines in the first 2048 bytes; a 120-character name is not wrapped', () => {
  const name = 'The Very Long Business Name Company of Greater Austin Texas Plumbing Heating and Air Conditioning Services LLC Group One';
  assert.equal(name.length, 120);
  const fields: Record<string, unknown> = {
    name,
    domain: 'acme.com',
    email: 'info@acme.com',
    average_rating: 4.5,
    reviews_count: 120,
    tags: ['prospect', 'vip'],
    meta_description: 'x '.repeat(3000),
    about_us_url: 'https://acme.com/' + 'a'.repeat(500),
    zz_unknown: 'y'.repeat(4000),
    aa_unknown: ['z'.repeat(300), 'w'.repeat(300)],
  };
  const text = renderDocument('company', fields, 'Body');
  const prefix = Buffer.from(text, 'utf8').subarray(0, 2048).toString('utf8');
  assert.match(prefix, new RegExp(`^name: ${name}$`, 'm'));
  assert.match(prefix, /^domain: acme\.com$/m);
  assert.match(prefix, /^email: info@acme\.com$/m);
  assert.match(prefix, /^average_rating: 4\.5$/m);
  assert.match(prefix, /^reviews_count: 120$/m);
  assert.match(prefix, /^tags:\n- prospect\n- vip\n/m);
  // long values elsewhere stay on one line too
  assert.equal(lineOf(text, 'meta_description').length, 'meta_description: '.length + 6002);
  assert.deepEqual(parseDocument(text, 't').fields, fields);
});

test('rule 5: the description is the body, written after a blank line', () => {
  const text = renderDocument('company', { name: 'Acme' }, '\n\nFirst paragraph.\n\n- a list\n\n```\ncode\n```\n\n\n');
  assert.equal(text, '---\nname: Acme\n---\n\nFirst paragraph.\n\n- a list\n\n```\ncode\n```\n');
  assert.equal(parseDocument(text, 't').body, 'First paragraph.\n\n- a list\n\n```\ncode\n```');
  assert.equal(parseDocument('---\nname: Acme\n---\n', 't').body, '');
});

test('rule 6: a half-written file is reported as a CocliFormatError (so the caller can retry), never as an empty record', () => {
  const full = renderDocument('company', { name: 'Acme', tags: ['a'] }, 'Body');
  for (const cut of [0, 2, 10, 24]) {
    assert.throws(() => parseDocument(full.slice(0, cut), 'acme/_index.md'), CocliFormatError, `cut at ${cut}`);
  }
  assert.throws(
    () => parseDocument('---\nname: "unterminated\n---\n', 'acme/_index.md'),
    (e: unknown) => e instanceof CocliFormatError && e.where === 'acme/_index.md' && /acme\/_index\.md: YAML error in frontmatter at line \d+, column \d+/.test(e.message),
  );
});

test('rule 7: foreign layouts are read, and re-rendered in cocli layout keeping unknown keys and body', () => {
  const expectedFields = { ...EXAMPLE_FIELDS, zebra: 'unknown', aardvark: [1, 2] };
  const canonical = renderDocument('company', expectedFields, 'Body line 1\n\nBody line 2');
  const sortedKeys = [
    '---',
    'aardvark:',
    '- 1',
    '- 2',
    'average_rating: 4.5',
    'domain: acme.com',
    "last_enriched: '2026-02-01T12:00:00Z'",
    'name: Acme Inc',
    "phone_number: '15125551234'",
    'reviews_count: 12',
    'slug: acme-inc',
    'tags:',
    '  - prospect',
    '  - vip',
    'type: N/A',
    'zebra: unknown',
    "zip_code: '01234'",
    '',
    '---',
    '',
    '',
    'Body line 1',
    '',
    'Body line 2',
    '',
    '',
  ].join('\n');
  const layouts: Record<string, string> = {
    'sorted keys, blank line before closing ---': sortedKeys,
    'no newline after opening ---': sortedKeys.replace('---\naardvark', '---aardvark'),
    CRLF: sortedKeys.replace(/\n/g, '\r\n'),
    BOM: '\uFEFF' + sortedKeys,
    'BOM + CRLF': '\uFEFF' + sortedKeys.replace(/\n/g, '\r\n'),
  };
  for (const [label, text] of Object.entries(layouts)) {
    const doc = parseDocument(text, label);
    assert.deepEqual(doc.fields, expectedFields, label);
    assert.equal(doc.body, 'Body line 1\n\nBody line 2', label);
    assert.equal(doc.keyOrder[0], 'aardvark', label);
    assert.equal(renderDocument('company', doc.fields, doc.body), canonical, label);
  }
  const noBody = parseDocument('---\r\nname: N\r\n---\r\n', 'nobody');
  assert.deepEqual(noBody, { fields: { name: 'N' }, keyOrder: ['name'], body: '' });
  // an empty frontmatter loads as {} (cocli: safe_load(...) or {})
  assert.deepEqual(parseDocument('---\n---\nbody', 'e').fields, {});
});

test('rule 8: body and unknown keys survive a read-modify-write byte-for-byte in meaning', () => {
  const original = [
    '---',
    'name: Acme',
    'custom_notes: |',
    '  line one',
    '  line two',
    'nested:',
    '  b: [1, 2.5, "x"]',
    '  a: {deep: true, list: [], map: {}}',
    'weird key: 01234',
    'when: 2026-02-01 12:00:00 +01:00',
    'day: 2026-03-04',
    'dup: first',
    'dup: second',
    '---',
    '',
    '# Acme',
    '',
    'Some *markdown* with --- dashes and a: colon.',
  ].join('\n');
  const doc = parseDocument(original, 'acme/_index.md');
  assert.deepEqual(doc.fields, {
    name: 'Acme',
    custom_notes: 'line one\nline two\n',
    nested: { b: [1, 2.5, 'x'], a: { deep: true, list: [], map: {} } },
    'weird key': 668, // PyYAML reads 01234 as octal
    when: '2026-02-01T11:00:00Z',
    day: '2026-03-04',
    dup: 'second',
  });
  const updated = renderDocument('company', { ...doc.fields, domain: 'acme.com' }, doc.body);
  const again = parseDocument(updated, 'acme/_index.md');
  assert.deepEqual(again.fields, { ...doc.fields, domain: 'acme.com' });
  assert.equal(again.body, '# Acme\n\nSome *markdown* with --- dashes and a: colon.');
  assert.equal(lineOf(updated, 'custom_notes'), 'custom_notes: "line one\\nline two\\n"');
});

test('multi-line text and nested data in unknown keys render as block YAML', () => {
  const fields = {
    name: 'Acme',
    custom: { list: [[1, 2], [], {}, { a: 'b', c: ['d'] }], text: 'l1\nl2\n', empty: '', n: null },
  };
  const text = renderDocument('company', fields, '');
  assert.equal(
    text,
    [
      '---',
      'name: Acme',
      'custom:',
      "  empty: ''",
      '  list:',
      '  - - 1',
      '    - 2',
      '  - []',
      '  - {}',
      '  - a: b',
      '    c:',
      '    - d',
      "  'n': null",
      '  text: "l1\\nl2\\n"',
      '---',
      '',
    ].join('\n'),
  );
  assert.deepEqual(parseDocument(text, 't').fields, fields);
});

test('very long unknown keys use an explicit key so they stay loadable', () => {
  const key = 'k'.repeat(2000);
  const { text, fields } = roundTrip({ name: 'Acme', [key]: ['a'], ['v'.repeat(1500)]: 'x' });
  assert.ok(text.includes(`? ${key}\n:\n  - a\n`));
  assert.deepEqual(fields, { name: 'Acme', [key]: ['a'], ['v'.repeat(1500)]: 'x' });
});

test('parseDocument reads YAML 1.1 scalars as PyYAML does', () => {
  const text = [
    '---',
    'a: 01234',
    'b: 78701',
    'c: 9:30',
    'd: yes',
    'e: no',
    'f: on',
    'g: y',
    'h: n',
    'i: 1e3',
    'j: 0x1F',
    'k: 09',
    'l: 1_000',
    'm: .inf',
    'n: 2026-01-01',
    'o: 2026-02-01T12:00:00.5Z',
    'p: 1.5e+3',
    'q: 0o17',
    'r: =',
    's: True',
    't: 190:20:30.15',
    'u: -0b101',
    '---',
  ].join('\n');
  assert.deepEqual(parseDocument(text, 't').fields, {
    a: 668, b: 78701, c: 570, d: true, e: false, f: true, g: 'y', h: 'n', i: '1e3', j: 31, k: '09', l: 1000,
    m: Infinity, n: '2026-01-01', o: '2026-02-01T12:00:00.500Z', p: 1500, q: '0o17', r: '=', s: true,
    t: 685230.15, u: -5,
  });
});

test('parseDocument errors name the file and the problem', () => {
  const check = (text: string, pattern: RegExp): void => {
    assert.throws(
      () => parseDocument(text, 'companies/x/_index.md'),
      (e: unknown) => e instanceof CocliFormatError && e.where === 'companies/x/_index.md' && pattern.test(e.message),
      pattern.source,
    );
  };
  check('name: x\n', /^companies\/x\/_index\.md: no frontmatter/);
  check('# just markdown\n---\nname: x\n---\n', /no frontmatter/);
  check('---\nname: x\n', /no closing/);
  check('---\nname: x\n  bad: indent\n: :\n---\n', /YAML error in frontmatter at line \d+, column \d+/);
  check('---\n- a\n- b\n---\n', /frontmatter is a sequence, not a mapping/);
  check('---\njust text\n---\n', /frontmatter is a scalar, not a mapping/);
  check('---\nday: 2026-02-30\n---\n', /invalid timestamp/);
});

test('keys like __proto__ and constructor are ordinary data, in and out', () => {
  const doc = parseDocument('---\nname: Acme\n__proto__: x\nconstructor: y\nnested:\n  __proto__: {a: 1}\n---\n', 't');
  assert.equal(Object.getPrototypeOf(doc.fields), Object.prototype);
  assert.deepEqual(doc.keyOrder, ['name', '__proto__', 'constructor', 'nested']);
  assert.equal(JSON.stringify(doc.fields), '{"name":"Acme","__proto__":"x","constructor":"y","nested":{"__proto__":{"a":1}}}');
  const text = renderDocument('company', doc.fields, '');
  assert.equal(text, "---\nname: Acme\n__proto__: x\nconstructor: 'y'\nnested:\n  __proto__:\n    a: 1\n---\n");
  assert.equal(JSON.stringify(parseDocument(text, 't').fields), JSON.stringify(doc.fields));
});

test('YAML merge keys and anchors load as PyYAML would', () => {
  const doc = parseDocument('---\nbase: &b {x: 1}\nother: *b\n<<: {a: 1, name: z}\nname: Acme\n---\n', 'm');
  assert.deepEqual(doc.fields, { base: { x: 1 }, other: { x: 1 }, a: 1, name: 'Acme' });
  assert.deepEqual(doc.keyOrder, ['base', 'other', 'name', 'a']);
});
