// Black-box tests of the cocli-mesh command line: init, typed updates, show/log/frontier output,
// exit codes, help, and offline exchange of packs between two data roots (sneakernet).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  companyDir, frontierOf, initRoot, logOf, mkTmp, ok, readText, rmTmp, run, runRaw, showOf, snapshot,
} from './run.js';

const PEER_ID = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/;
const CID_RE = /^bafyrei[a-z2-7]{52}$/;

describe('init', () => {
  let tmp: string;
  before(() => {
    tmp = mkTmp();
  });
  after(() => rmTmp(tmp));

  test('creates .mesh/key with mode 0600 and prints the PeerID', () => {
    const root = path.join(tmp, 'a');
    const r = run(root, 'init', '--name', 'laptop');
    assert.equal(r.code, 0, r.stderr);
    const key = path.join(root, '.mesh', 'key');
    assert.ok(fs.existsSync(key), '.mesh/key exists');
    assert.equal(fs.statSync(key).mode & 0o777, 0o600);
    const m = /peer id\s+(\S+)/.exec(r.stdout);
    assert.ok(m, `PeerID printed: ${r.stdout}`);
    assert.match(m[1]!, PEER_ID);
    assert.match(r.stdout, /laptop/);
    // the printed PeerID is the author of this node's datagrams
    assert.deepEqual(Object.keys(frontierOf(root)), [m[1]]);
  });

  test('init twice fails with exit 3 and leaves the key alone', () => {
    const root = path.join(tmp, 'b');
    ok(root, 'init', '--name', 'one');
    const key = fs.readFileSync(path.join(root, '.mesh', 'key'));
    const r = run(root, 'init', '--name', 'two');
    assert.equal(r.code, 3);
    assert.match(r.stderr, /already/);
    assert.deepEqual(fs.readFileSync(path.join(root, '.mesh', 'key')), key);
  });

  test('commands on an uninitialised root exit 3 and tell to run init', () => {
    const root = path.join(tmp, 'empty');
    fs.mkdirSync(root);
    const cases: string[][] = [
      ['update', 'companies/acme', 'name=Acme'],
      ['show', 'companies/acme'],
      ['log', 'companies/acme'],
      ['list'],
      ['verify'],
      ['frontier'],
      ['pack', 'export', path.join(tmp, 'x.car')],
      ['reindex'],
    ];
    for (const args of cases) {
      const r = run(root, ...args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /cocli-mesh init/, args.join(' '));
    }
    assert.deepEqual(fs.readdirSync(root), [], 'nothing was created');
  });
});

describe('update', () => {
  let tmp: string;
  let root: string;
  let peerId: string;
  const acme = 'companies/acme-inc';
  before(() => {
    ({ tmp, root, peerId } = initRoot('alpha'));
    ok(root, 'update', acme, 'name=Acme Inc', 'zip_code=01234', 'reviews_count=12', 'average_rating=4', 'domain=acme.com');
  });
  after(() => rmTmp(tmp));

  test('field=value is typed as cocli types it', () => {
    const show = showOf(root, acme);
    assert.equal(show.fields.zip_code, '01234');
    assert.equal(show.fields.reviews_count, 12);
    assert.equal(show.fields.average_rating, 4);
    assert.equal(show.fields.name, 'Acme Inc');
    const doc = readText(path.join(companyDir(root, 'acme-inc'), '_index.md'));
    assert.match(doc, /^average_rating: 4\.0$/m);
    assert.match(doc, /^reviews_count: 12$/m);
    assert.match(doc, /^zip_code: '01234'$/m);
    assert.ok(doc.startsWith('---\nname: Acme Inc\ndomain: acme.com\n'), doc);
  });

  test('a value that does not fit the type exits 1, names the field and writes nothing', () => {
    const before = snapshot(root);
    const logBefore = logOf(root, acme);
    const frontierBefore = frontierOf(root);
    const r = run(root, 'update', acme, 'reviews_count=many');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /reviews_count/);
    assert.deepEqual(logOf(root, acme), logBefore);
    assert.deepEqual(frontierOf(root), frontierBefore);
    assert.deepEqual(snapshot(root), before);
  });

  test('a plain assignment to a list field exits 1', () => {
    const logBefore = logOf(root, acme);
    const r = run(root, 'update', acme, 'tags=x');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tags/);
    assert.deepEqual(logOf(root, acme), logBefore);
  });

  test('a new company without a name exits 1 and creates nothing', () => {
    const frontierBefore = frontierOf(root);
    const r = run(root, 'update', 'companies/nameless', 'phone_1=123');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /name/);
    assert.deepEqual(frontierOf(root), frontierBefore);
    assert.equal(fs.existsSync(path.join(root, 'companies', 'nameless', '_index.md')), false);
    assert.deepEqual(logOf(root, 'companies/nameless'), []);
  });

  test('--add and --remove keep tags.lst and the YAML tags equal', () => {
    const dir = companyDir(root, 'acme-inc');
    ok(root, 'update', acme, '--add', 'tags=a', '--add', 'tags=b');
    assert.equal(readText(path.join(dir, 'tags.lst')), 'a\nb\n');
    ok(root, 'update', acme, '--remove', 'tags=a');
    assert.equal(readText(path.join(dir, 'tags.lst')), 'b\n');
    assert.match(readText(path.join(dir, '_index.md')), /\ntags:\n- b\nslug:|\ntags:\n- b\n[a-z_]+:/);
    assert.deepEqual(showOf(root, acme).fields.tags, ['b']);
  });

  test('tags:=<json> replaces the whole set', () => {
    const dir = companyDir(root, 'acme-inc');
    ok(root, 'update', acme, '--add', 'tags=old');
    ok(root, 'update', acme, 'tags:=["x","y"]');
    assert.deepEqual(showOf(root, acme).fields.tags, ['x', 'y']);
    assert.equal(readText(path.join(dir, 'tags.lst')), 'x\ny\n');
    // `y` is a boolean in YAML 1.1, so it must be quoted for cocli (PyYAML)
    assert.match(readText(path.join(dir, '_index.md')), /\ntags:\n- x\n- (['"])y\1\n/);
  });

  test('map keys: email_contexts.<key>=value, then --unset email_contexts.<key>', () => {
    ok(root, 'update', acme, 'email_contexts.a@b.com=sales');
    assert.deepEqual(showOf(root, acme).fields.email_contexts, { 'a@b.com': 'sales' });
    assert.match(readText(path.join(companyDir(root, 'acme-inc'), '_index.md')), /email_contexts:\n {2}a@b\.com: sales\n/);
    ok(root, 'update', acme, '--unset', 'email_contexts.a@b.com');
    const ctx = showOf(root, acme).fields.email_contexts;
    assert.ok(ctx === undefined || JSON.stringify(ctx) === '{}', JSON.stringify(ctx));
    assert.doesNotMatch(readText(path.join(companyDir(root, 'acme-inc'), '_index.md')), /a@b\.com/);
  });

  test('--unset removes a scalar field', () => {
    ok(root, 'update', acme, 'phone_1=15125551234');
    assert.equal(showOf(root, acme).fields.phone_1, '15125551234');
    assert.match(readText(path.join(companyDir(root, 'acme-inc'), '_index.md')), /^phone_1: '15125551234'$/m);
    ok(root, 'update', acme, '--unset', 'phone_1');
    assert.equal('phone_1' in showOf(root, acme).fields, false);
    assert.doesNotMatch(readText(path.join(companyDir(root, 'acme-inc'), '_index.md')), /phone_1/);
  });

  test('--body-file sets the Markdown body', () => {
    const bodyFile = path.join(tmp, 'body.md');
    fs.writeFileSync(bodyFile, 'A *fine* company.\n\nSecond paragraph.\n\n\n');
    ok(root, 'update', acme, '--body-file', bodyFile);
    const doc = readText(path.join(companyDir(root, 'acme-inc'), '_index.md'));
    assert.ok(doc.endsWith('---\n\nA *fine* company.\n\nSecond paragraph.\n'), JSON.stringify(doc));
    assert.equal(showOf(root, acme).body, 'A *fine* company.\n\nSecond paragraph.');
  });

  test('--body-file - reads standard input', () => {
    const r = runRaw(['--data', root, 'update', acme, '--body-file', '-'], { input: 'From stdin.\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readText(path.join(companyDir(root, 'acme-inc'), '_index.md')).endsWith('\n\nFrom stdin.\n'));
  });

  test('one update call writes exactly one datagram holding all its ops', () => {
    const before = logOf(root, acme);
    const frontierBefore = frontierOf(root);
    const r = ok(root, 'update', acme, 'city=Austin', 'state=TX', '--add', 'tags=z', 'email_contexts.c@d.com=ceo', '--json');
    const after = logOf(root, acme);
    assert.equal(after.length, before.length + 1);
    assert.deepEqual(after.slice(0, -1), before);
    const last = after.at(-1)!;
    const key = (ops: unknown[]) => ops.map((o) => JSON.stringify(o)).sort();
    assert.deepEqual(key(last.ops), key([['s', 'city', 'Austin'], ['s', 'state', 'TX'], ['m', 'email_contexts', 'c@d.com', 'ceo'], ['+', 'tags', 'z']]));
    assert.equal(last.ops.length, 4);
    assert.equal(frontierOf(root)[peerId], frontierBefore[peerId]! + 1);
    // --json prints the same datagram
    assert.deepEqual(JSON.parse(r.stdout), last);
  });

  test('log --json lines carry time, author, authorName, seq, lamport, ops, cid, parents', () => {
    const lines = logOf(root, acme);
    assert.ok(lines.length >= 5);
    let prevSeq = 0;
    lines.forEach((l, i) => {
      assert.ok(!Number.isNaN(Date.parse(l.time)) && l.time.endsWith('Z'), l.time);
      assert.equal(l.author, peerId);
      assert.equal(l.authorName, 'alpha');
      assert.equal(l.entity, acme);
      assert.ok(Number.isInteger(l.seq) && l.seq > prevSeq, `seq grows: ${l.seq}`);
      prevSeq = l.seq;
      // a single writer: a chain, each one on top of the one before
      assert.equal(l.lamport, i + 1);
      assert.ok(Array.isArray(l.ops) && l.ops.length > 0);
      assert.match(l.cid, CID_RE);
      assert.deepEqual(l.parents, i === 0 ? [] : [lines[i - 1]!.cid]);
    });
    // the plain log has one line per datagram too
    const plain = ok(root, 'log', acme).stdout.trim().split('\n');
    assert.equal(plain.length, lines.length);
    assert.ok(plain.every((p, i) => p.includes(lines[i]!.cid) && p.includes('alpha')));
  });

  test('show --json has fields, body, conflicts, heads and the datagram count', () => {
    const show = showOf(root, acme);
    const lines = logOf(root, acme);
    assert.equal(show.entity, acme);
    assert.equal(typeof show.fields, 'object');
    assert.equal(typeof show.body, 'string');
    assert.deepEqual(show.conflicts, []);
    assert.deepEqual(show.heads, [lines.at(-1)!.cid]);
    assert.equal(show.datagrams, lines.length);
    const plain = ok(root, 'show', acme).stdout;
    assert.match(plain, /name: "Acme Inc"/);
  });

  test('frontier --json maps this PeerID to its last sequence number', () => {
    const f = frontierOf(root);
    assert.deepEqual(Object.keys(f), [peerId]);
    // the _cluster announcement is #1; the company's last datagram has the highest sequence number
    assert.equal(f[peerId], logOf(root, acme).at(-1)!.seq);
    assert.match(ok(root, 'frontier').stdout, new RegExp(`${peerId}\\s+${f[peerId]}\\s+alpha`));
  });

  test('list names the entities', () => {
    assert.deepEqual(JSON.parse(ok(root, 'list', '--json').stdout), ['_cluster', acme]);
  });
});

describe('exit codes and help', () => {
  let tmp: string;
  let root: string;
  before(() => {
    ({ tmp, root } = initRoot('alpha'));
  });
  after(() => rmTmp(tmp));

  test('an unknown command exits 1', () => {
    const r = run(root, 'bogus');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown command/);
  });

  test('an unknown option exits 1', () => {
    assert.equal(run(root, 'show', 'companies/acme', '--nope').code, 1);
  });

  test('a bad entity path exits 1 on every command that takes one', () => {
    for (const args of [
      ['update', 'companies/Bad_Slug', 'name=X'],
      ['show', 'companies/Bad_Slug'],
      ['log', 'companies/Bad_Slug'],
      ['verify', 'companies/Bad_Slug'],
      ['show', 'widgets/acme'],
      ['show', 'companies/ab'],
    ]) {
      const r = run(root, ...args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /entity|slug/, args.join(' '));
    }
    assert.equal(fs.existsSync(path.join(root, 'companies', 'Bad_Slug')), false);
  });

  test('an update without any change exits 1', () => {
    ok(root, 'update', 'companies/acme', 'name=Acme');
    const r = run(root, 'update', 'companies/acme');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing to update/);
  });

  test('--help exits 0 on every command', () => {
    for (const args of [
      [], ['init'], ['update'], ['show'], ['log'], ['list'], ['verify'], ['frontier'], ['pack'], ['pack', 'export'], ['pack', 'import'], ['reindex'],
    ]) {
      const r = run(root, ...args, '--help');
      assert.equal(r.code, 0, `${args.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: cocli-mesh/, args.join(' '));
    }
  });
});

describe('sneakernet: packs between two data roots', () => {
  let tmp: string;
  let a: string;
  let b: string;
  let peerA: string;
  let peerB: string;
  const acme = 'companies/acme';
  let packA: string;
  let packB: string;

  before(() => {
    tmp = mkTmp();
    a = path.join(tmp, 'a');
    b = path.join(tmp, 'b');
    peerA = /peer id\s+(\S+)/.exec(ok(a, 'init', '--name', 'node-a', '--cluster', 'crm').stdout)![1]!;
    peerB = /peer id\s+(\S+)/.exec(ok(b, 'init', '--name', 'node-b', '--cluster', 'crm').stdout)![1]!;
    // concurrent writes to the same company, field and tag set
    ok(a, 'update', acme, 'name=Acme A', 'city=Austin', '--add', 'tags=from-a');
    ok(b, 'update', acme, 'name=Acme B', 'domain=acme.com', '--add', 'tags=from-b');
    packA = path.join(tmp, 'a.car');
    packB = path.join(tmp, 'b-since-a.car');
    const ea = ok(a, 'pack', 'export', packA);
    assert.match(ea.stdout, /exported 2 datagrams/);
    const ib = JSON.parse(ok(b, 'pack', 'import', packA, '--json').stdout);
    assert.deepEqual([ib.received, ib.applied, ib.duplicates, ib.pending, ib.invalid], [2, 2, 0, 0, []]);
    const frontierFile = path.join(tmp, 'a-frontier.json');
    fs.writeFileSync(frontierFile, ok(a, 'frontier', '--json').stdout);
    const eb = ok(b, 'pack', 'export', packB, '--since', frontierFile);
    assert.match(eb.stdout, /exported 2 datagrams/, 'only what A lacks: B\'s cluster announcement and its update');
    const ia = JSON.parse(ok(a, 'pack', 'import', packB, '--json').stdout);
    assert.deepEqual([ia.received, ia.applied, ia.duplicates, ia.pending, ia.invalid], [2, 2, 0, 0, []]);
  });
  after(() => rmTmp(tmp));

  test('both roots converge to byte-identical _index.md and tags.lst', () => {
    for (const f of ['_index.md', 'tags.lst']) {
      assert.equal(readText(path.join(companyDir(a, 'acme'), f)), readText(path.join(companyDir(b, 'acme'), f)), f);
    }
    assert.equal(readText(path.join(companyDir(a, 'acme'), 'tags.lst')), 'from-a\nfrom-b\n');
    const doc = readText(path.join(companyDir(a, 'acme'), '_index.md'));
    assert.match(doc, /^city: Austin$/m);
    assert.match(doc, /^domain: acme\.com$/m);
    assert.match(doc, /\ntags:\n- from-a\n- from-b\n/);
    assert.deepEqual(frontierOf(a), frontierOf(b));
    assert.deepEqual(frontierOf(a), { [peerA]: 2, [peerB]: 2 });
  });

  test('both roots show the losing name as a conflict, with the same winner', () => {
    const sa = showOf(a, acme);
    const sb = showOf(b, acme);
    assert.deepEqual(sa.fields, sb.fields);
    assert.deepEqual(sa.conflicts, sb.conflicts);
    assert.ok(['Acme A', 'Acme B'].includes(sa.fields.name as string));
    const loser = sa.fields.name === 'Acme A' ? 'Acme B' : 'Acme A';
    const c = sa.conflicts.find((x) => x.field === 'name');
    assert.ok(c, JSON.stringify(sa.conflicts));
    assert.equal(c.winner, sa.fields.name);
    assert.equal(c.losers.length, 1);
    assert.equal(c.losers[0]!.value, loser);
    assert.equal(c.losers[0]!.author, loser === 'Acme A' ? peerA : peerB);
    assert.equal(c.losers[0]!.authorName, loser === 'Acme A' ? 'node-a' : 'node-b');
    assert.match(readText(path.join(companyDir(a, 'acme'), '_index.md')), new RegExp(`^name: ${sa.fields.name}$`, 'm'));
    assert.equal(sa.heads.length, 2, 'two concurrent heads');
  });

  test('each root names the other node in its log', () => {
    const names = logOf(a, acme).map((l) => l.authorName).sort();
    assert.deepEqual(names, ['node-a', 'node-b']);
    assert.deepEqual(logOf(b, acme).map((l) => l.cid).sort(), logOf(a, acme).map((l) => l.cid).sort());
  });

  test('importing the same pack again is idempotent', () => {
    const before = snapshot(b);
    const r = JSON.parse(ok(b, 'pack', 'import', packA, '--json').stdout);
    assert.equal(r.applied, 0);
    assert.equal(r.duplicates, 2);
    assert.equal(r.received, 2);
    assert.deepEqual(r.invalid, []);
    const plain = ok(b, 'pack', 'import', packA);
    assert.match(plain.stdout, /applied 0, duplicates 2/);
    assert.deepEqual(snapshot(b), before);
  });

  test('export --since a node\'s own frontier exports nothing', () => {
    const f = path.join(tmp, 'own-frontier.json');
    fs.writeFileSync(f, ok(a, 'frontier', '--json').stdout);
    const out = path.join(tmp, 'empty.car');
    assert.match(ok(a, 'pack', 'export', out, '--since', f).stdout, /exported 0 datagrams/);
    const r = JSON.parse(ok(b, 'pack', 'import', out, '--json').stdout);
    assert.equal(r.received, 0);
    assert.equal(r.applied, 0);
  });

  test('a pack from another cluster is rejected with exit 2 and nothing is applied', () => {
    const c = path.join(tmp, 'c');
    ok(c, 'init', '--name', 'node-c', '--cluster', 'other');
    ok(c, 'update', acme, 'name=Intruder', '--add', 'tags=evil');
    const packC = path.join(tmp, 'c.car');
    ok(c, 'pack', 'export', packC);
    const before = snapshot(a);
    const r = run(a, 'pack', 'import', packC);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /applied 0/);
    assert.match(r.stdout, /invalid 2/);
    assert.match(r.stdout, /cluster/);
    assert.deepEqual(snapshot(a), before);
    assert.equal(showOf(a, acme).fields.name === 'Intruder', false);
  });

  test('a garbage file as a pack exits 2 with a clear message and changes nothing', () => {
    const junk = path.join(tmp, 'junk.car');
    fs.writeFileSync(junk, 'this is not a CAR file at all\n'.repeat(20));
    const before = snapshot(a);
    const r = run(a, 'pack', 'import', junk);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /junk\.car/);
    assert.match(r.stderr, /not a readable CAR pack/);
    assert.deepEqual(snapshot(a), before);
    const missing = run(a, 'pack', 'import', path.join(tmp, 'nope.car'));
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope\.car/);
  });

  test('a malformed --since file is a usage error (exit 1)', () => {
    const bad = path.join(tmp, 'bad-frontier.json');
    fs.writeFileSync(bad, '{"not a peer": "x"}');
    const r = run(a, 'pack', 'export', path.join(tmp, 'never.car'), '--since', bad);
    assert.equal(r.code, 1);
    assert.equal(fs.existsSync(path.join(tmp, 'never.car')), false);
  });
});
