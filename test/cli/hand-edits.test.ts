// Black-box tests of files that cocli or a person wrote or edited: adoption of a company that exists
// only as files, hand edits of _index.md and tags.lst becoming datagrams, foreign layouts re-rendered
// in cocli's layout, and a broken _index.md left alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { companyDir, initRoot, logOf, mkTmp, ok, readText, rmTmp, run, showOf } from './run.js';

const HAND_DOC = [
  '---',
  'name: Hand Co',
  'domain: hand.example',
  'type: N/A',
  'tags:',
  '- legacy',
  'slug: hand-co',
  'custom_key: keep me',
  '---',
  '',
  'Written by hand.',
  '',
  'Second paragraph.',
  '',
].join('\n');

const sortedOps = (ops: unknown[]) => ops.map((o) => JSON.stringify(o)).sort();

describe('hand edits', () => {
  let tmp: string;
  let root: string;
  let peerId: string;
  before(() => {
    ({ tmp, root, peerId } = initRoot('alpha'));
  });
  after(() => rmTmp(tmp));

  /** Writes a company folder by hand, as cocli would, and returns its _index.md path. */
  const handCompany = (slug: string, text: string, tags?: string): string => {
    const dir = companyDir(root, slug);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '_index.md'), text);
    if (tags !== undefined) fs.writeFileSync(path.join(dir, 'tags.lst'), tags);
    return path.join(dir, '_index.md');
  };

  test('adoption: an update of a files-only company keeps name, unknown keys and body, and logs the adopted fields first', () => {
    const doc = handCompany('hand-co', HAND_DOC);
    const r = run(root, 'update', 'companies/hand-co', 'phone_1=123');
    assert.equal(r.code, 0, r.stderr);
    const show = showOf(root, 'companies/hand-co');
    assert.equal(show.fields.name, 'Hand Co');
    assert.equal(show.fields.domain, 'hand.example');
    assert.equal(show.fields.custom_key, 'keep me');
    assert.deepEqual(show.fields.tags, ['legacy']);
    assert.equal(show.body, 'Written by hand.\n\nSecond paragraph.');
    const text = readText(doc);
    assert.match(text, /^name: Hand Co$/m);
    assert.match(text, /^custom_key: keep me$/m);
    assert.ok(text.endsWith('---\n\nWritten by hand.\n\nSecond paragraph.\n'), JSON.stringify(text));
    assert.equal(readText(path.join(companyDir(root, 'hand-co'), 'tags.lst')), 'legacy\n');

    const log = logOf(root, 'companies/hand-co');
    const first = log[0]!;
    assert.equal(first.author, peerId);
    assert.equal(first.authorName, 'alpha');
    assert.deepEqual(first.parents, []);
    assert.deepEqual(
      sortedOps(first.ops),
      sortedOps([
        ['s', 'name', 'Hand Co'], ['s', 'domain', 'hand.example'], ['s', 'type', 'N/A'], ['+', 'tags', 'legacy'],
        ['s', 'slug', 'hand-co'], ['s', 'custom_key', 'keep me'], ['b', 'Written by hand.\n\nSecond paragraph.'],
      ]),
    );
    assert.deepEqual(log[1]!.ops, [['s', 'phone_1', '123']]);
    assert.deepEqual(log[1]!.parents, [first.cid]);
  });

  test('adoption: the update\'s own field survives (no datagram undoes it)', () => {
    handCompany('adopt-co', HAND_DOC.replace('Hand Co', 'Adopt Co').replace('hand-co', 'adopt-co'));
    ok(root, 'update', 'companies/adopt-co', 'phone_1=123');
    const log = logOf(root, 'companies/adopt-co');
    assert.equal(log.length, 2, JSON.stringify(log.map((l) => l.ops)));
    assert.equal(showOf(root, 'companies/adopt-co').fields.phone_1, '123');
    assert.match(readText(path.join(companyDir(root, 'adopt-co'), '_index.md')), /^phone_1: '123'$/m);
  });

  test('a hand edit of _index.md is recorded as a datagram on the next read', () => {
    ok(root, 'update', 'companies/edit-co', 'name=Edit Co', 'domain=before.example', 'city=Austin');
    const doc = path.join(companyDir(root, 'edit-co'), '_index.md');
    const before = logOf(root, 'companies/edit-co');
    fs.writeFileSync(doc, readText(doc).replace('domain: before.example', 'domain: after.example'));
    const show = showOf(root, 'companies/edit-co');
    assert.equal(show.fields.domain, 'after.example');
    assert.equal(show.fields.city, 'Austin');
    const log = logOf(root, 'companies/edit-co');
    assert.equal(log.length, before.length + 1);
    assert.deepEqual(log.at(-1)!.ops, [['s', 'domain', 'after.example']]);
    assert.equal(log.at(-1)!.author, peerId);
    // reading again records nothing new
    showOf(root, 'companies/edit-co');
    assert.equal(logOf(root, 'companies/edit-co').length, log.length);
    assert.match(readText(doc), /^domain: after\.example$/m);
  });

  test('a hand edit of _index.md followed by an update keeps both', () => {
    ok(root, 'update', 'companies/both-co', 'name=Both Co', 'domain=before.example');
    const doc = path.join(companyDir(root, 'both-co'), '_index.md');
    fs.writeFileSync(doc, readText(doc).replace('domain: before.example', 'domain: after.example'));
    ok(root, 'update', 'companies/both-co', 'city=Austin');
    const show = showOf(root, 'companies/both-co');
    assert.equal(show.fields.domain, 'after.example');
    assert.equal(show.fields.city, 'Austin');
    assert.match(readText(doc), /^city: Austin$/m);
    assert.ok(logOf(root, 'companies/both-co').every((l) => !l.ops.some((o) => o[0] === 'u')), 'no unset was written');
  });

  test('a hand edit of tags.lst becomes the YAML tags after an update', () => {
    ok(root, 'update', 'companies/tags-co', 'name=Tags Co', '--add', 'tags=alpha', '--add', 'tags=gamma');
    const dir = companyDir(root, 'tags-co');
    fs.writeFileSync(path.join(dir, 'tags.lst'), 'alpha\nbeta\ngamma\n');
    ok(root, 'update', 'companies/tags-co', 'city=Austin');
    const lst = readText(path.join(dir, 'tags.lst'));
    assert.equal(lst, 'alpha\nbeta\ngamma\n');
    const yamlTags = /\ntags:\n((?:- .*\n)*)/.exec(readText(path.join(dir, '_index.md')));
    assert.ok(yamlTags, readText(path.join(dir, '_index.md')));
    assert.equal(yamlTags[1]!.replace(/^- /gm, ''), lst);
    assert.deepEqual(showOf(root, 'companies/tags-co').fields.tags, ['alpha', 'beta', 'gamma']);
    assert.ok(logOf(root, 'companies/tags-co').some((l) => JSON.stringify(l.ops) === '[["+","tags","beta"]]'));
  });

  test('a hand edit of tags.lst followed by an update keeps the update', () => {
    ok(root, 'update', 'companies/tags-two', 'name=Tags Two', '--add', 'tags=alpha');
    const dir = companyDir(root, 'tags-two');
    fs.writeFileSync(path.join(dir, 'tags.lst'), 'alpha\nbeta\n');
    ok(root, 'update', 'companies/tags-two', 'city=Austin');
    assert.equal(showOf(root, 'companies/tags-two').fields.city, 'Austin');
    assert.match(readText(path.join(dir, '_index.md')), /^city: Austin$/m);
  });

  describe('foreign layouts are read and re-rendered in cocli\'s layout', () => {
    const cases: { slug: string; text: string; expected: string; tags: string }[] = [
      {
        slug: 'crlf-co',
        text: '---\r\nname: Crlf Co\r\ndomain: crlf.example\r\ncustom_key: keep me\r\ntags:\r\n- b\r\n- a\r\n---\r\n\r\nLine one.\r\nLine two.\r\n',
        expected: '---\nname: Crlf Co\ndomain: crlf.example\ntags:\n- a\n- b\ncity: Austin\ncustom_key: keep me\n---\n\nLine one.\nLine two.\n',
        tags: 'a\nb\n',
      },
      {
        slug: 'sorted-co',
        text: '---\ncity: Dallas\ncustom_key: keep me\ndomain: sorted.example\nname: Sorted Co\nreviews_count: 7\ntags: []\n---\n\nSorted body.\n',
        expected: '---\nname: Sorted Co\ndomain: sorted.example\ntags: []\ncity: Austin\nreviews_count: 7\ncustom_key: keep me\n---\n\nSorted body.\n',
        tags: '',
      },
      {
        slug: 'blank-co',
        text: '---\nname: Blank Co\ncustom_key: keep me\ntags:\n- x\n\n---\n\nBlank body.\n',
        expected: '---\nname: Blank Co\ntags:\n- x\ncity: Austin\ncustom_key: keep me\n---\n\nBlank body.\n',
        tags: 'x\n',
      },
    ];
    for (const c of cases) {
      test(c.slug, () => {
        const doc = handCompany(c.slug, c.text);
        const entity = `companies/${c.slug}`;
        const show = showOf(root, entity);
        assert.equal(show.fields.custom_key, 'keep me');
        assert.equal(typeof show.fields.name, 'string');
        assert.doesNotMatch(show.body, /\r/);
        // the read adopted the file and rendered it in cocli's layout
        const rendered = readText(doc);
        assert.doesNotMatch(rendered, /\r/);
        assert.ok(rendered.startsWith(`---\nname: ${show.fields.name}\n`), rendered);
        ok(root, 'update', entity, 'city=Austin');
        assert.equal(readText(doc), c.expected);
        assert.equal(readText(path.join(companyDir(root, c.slug), 'tags.lst')), c.tags);
        // and the rendered file is not taken for a new hand edit
        const n = logOf(root, entity).length;
        showOf(root, entity);
        assert.equal(logOf(root, entity).length, n);
      });
    }
  });

  test('a hand-broken _index.md is not overwritten by a later update, and a warning is printed', () => {
    ok(root, 'update', 'companies/broken-co', 'name=Broken Co', 'domain=broken.example');
    const doc = path.join(companyDir(root, 'broken-co'), '_index.md');
    const broken = readText(doc).replace('domain: broken.example', 'domain: [unclosed\n  : : :');
    fs.writeFileSync(doc, broken);
    const before = fs.readFileSync(doc);
    const tagsBefore = fs.readFileSync(path.join(companyDir(root, 'broken-co'), 'tags.lst'));
    const n = logOf(root, 'companies/broken-co').length;
    const r = run(root, 'update', 'companies/broken-co', 'city=Austin', '--add', 'tags=new');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^warning: .*_index\.md/m);
    assert.deepEqual(fs.readFileSync(doc), before, 'the broken file is left byte for byte');
    assert.deepEqual(fs.readFileSync(path.join(companyDir(root, 'broken-co'), 'tags.lst')), tagsBefore);
    // the update itself was recorded
    const log = logOf(root, 'companies/broken-co');
    assert.equal(log.length, n + 1);
    assert.deepEqual(sortedOps(log.at(-1)!.ops), sortedOps([['s', 'city', 'Austin'], ['+', 'tags', 'new']]));
    // reading warns too and still leaves the file alone
    const s = run(root, 'show', 'companies/broken-co', '--json');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /^warning: /m);
    assert.equal(JSON.parse(s.stdout).fields.city, 'Austin');
    assert.deepEqual(fs.readFileSync(doc), before);

  });

  test('fixing a broken _index.md by hand keeps what was written while it was broken', () => {
    ok(root, 'update', 'companies/fixed-co', 'name=Fixed Co', 'domain=broken.example');
    const doc = path.join(companyDir(root, 'fixed-co'), '_index.md');
    const good = readText(doc);
    fs.writeFileSync(doc, good.replace('domain: broken.example', 'domain: [unclosed'));
    ok(root, 'update', 'companies/fixed-co', 'city=Austin', '--add', 'tags=new');
    // the person repairs the line they broke
    fs.writeFileSync(doc, good.replace('domain: broken.example', 'domain: fixed.example'));
    const fixed = showOf(root, 'companies/fixed-co');
    assert.equal(fixed.fields.domain, 'fixed.example');
    assert.equal(fixed.fields.city, 'Austin');
    assert.deepEqual(fixed.fields.tags, ['new']);
    assert.match(readText(doc), /^city: Austin$/m);
  });
});

describe('hand edits and imports', () => {
  let tmp: string;
  before(() => {
    tmp = mkTmp();
  });
  after(() => rmTmp(tmp));

  test('a remote update imported after a local hand edit is kept, and so is the hand edit', () => {
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    ok(a, 'init', '--name', 'node-a');
    ok(b, 'init', '--name', 'node-b');
    ok(a, 'update', 'companies/shared-co', 'name=Shared Co', 'domain=one.example');
    const p1 = path.join(tmp, 'p1.car');
    ok(a, 'pack', 'export', p1);
    ok(b, 'pack', 'import', p1);
    ok(b, 'update', 'companies/shared-co', 'city=Remote City');
    // A edits its file by hand, then imports B's update
    const doc = path.join(companyDir(a, 'shared-co'), '_index.md');
    fs.writeFileSync(doc, readText(doc).replace('domain: one.example', 'domain: two.example'));
    const p2 = path.join(tmp, 'p2.car');
    ok(b, 'pack', 'export', p2);
    ok(a, 'pack', 'import', p2);
    const show = showOf(a, 'companies/shared-co');
    assert.equal(show.fields.domain, 'two.example');
    assert.equal(show.fields.city, 'Remote City');
    assert.match(readText(doc), /^city: Remote City$/m);
  });
});
