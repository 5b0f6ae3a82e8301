// Black-box tests of `cocli-mesh verify`: every kind of damage to an entity log is found and named
// (exit 2), restoring the file makes verify pass again (exit 0), and a torn final record is only a
// note that the next write repairs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as dagCbor from '@ipld/dag-cbor';
import { cidOfBytes } from '../../src/datagram/codec.js';
import { initRoot, logOf, ok, rmTmp, run } from './run.js';

interface Report {
  entities: number;
  datagrams: number;
  failures: string[];
  notes: string[];
}

interface Rec {
  cid: string;
  seq: number;
  parents: string[];
  raw: string;
  [k: string]: unknown;
}

describe('verify', () => {
  let tmp: string;
  let root: string;
  const alpha = 'companies/alpha-co';
  const beta = 'companies/beta-co';
  let alphaLog: string;
  let betaLog: string;
  let alphaOrig: Buffer;
  let betaOrig: Buffer;

  const verify = (): { code: number; report: Report; text: string } => {
    const r = run(root, 'verify', '--json');
    let report: Report;
    try {
      report = JSON.parse(r.stdout) as Report;
    } catch {
      throw new Error(`verify --json printed no report (exit ${r.code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return { code: r.code, report, text: r.stdout + r.stderr };
  };
  /** Plain `verify`: exit code and everything it printed. */
  const verifyPlain = (): { code: number; out: string } => {
    const r = run(root, 'verify');
    return { code: r.code, out: r.stdout + r.stderr };
  };
  /** Tampers with the logs, runs fn, and always puts the original logs back. */
  const tampered = (tamper: () => void, fn: () => void) => {
    try {
      tamper();
      fn();
    } finally {
      restore();
    }
    assertCleanAfterRestore();
  };
  const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const writeLines = (file: string, ls: string[]) => fs.writeFileSync(file, ls.map((l) => l + '\n').join(''));
  const restore = () => {
    fs.writeFileSync(alphaLog, alphaOrig);
    fs.writeFileSync(betaLog, betaOrig);
  };
  /** After every tampering test: the original files verify clean again. */
  const assertCleanAfterRestore = () => {
    restore();
    const { code, report } = verify();
    assert.equal(code, 0, JSON.stringify(report));
    assert.deepEqual(report.failures, []);
  };

  before(() => {
    ({ tmp, root } = initRoot('alpha'));
    ok(root, 'update', alpha, 'name=Alpha Co', 'city=Austin');
    ok(root, 'update', alpha, '--add', 'tags=one', 'reviews_count=3');
    ok(root, 'update', alpha, 'domain=alpha.example');
    ok(root, 'update', beta, 'name=Beta Co');
    ok(root, 'update', beta, 'phone_1=15125551234');
    alphaLog = path.join(root, 'companies', 'alpha-co', 'updates', 'mesh.log');
    betaLog = path.join(root, 'companies', 'beta-co', 'updates', 'mesh.log');
    alphaOrig = fs.readFileSync(alphaLog);
    betaOrig = fs.readFileSync(betaLog);
    assert.equal(lines(alphaLog).length, 3);
    assert.equal(lines(betaLog).length, 2);
  });
  after(() => rmTmp(tmp));

  test('an untouched root verifies clean (exit 0)', () => {
    const { code, report } = verify();
    assert.equal(code, 0);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(report.notes, []);
    // _cluster and the two companies
    assert.equal(report.entities, 3);
    assert.equal(report.datagrams, 6);
    const plain = ok(root, 'verify');
    assert.match(plain.stdout, /^ok: 6 datagrams in 3 entities, 0 failures$/m);
    const one = JSON.parse(ok(root, 'verify', beta, '--json').stdout) as Report;
    assert.equal(one.entities, 1);
    assert.equal(one.datagrams, 2);
  });

  // Each kind of damage: `verify` exits 2 and names the failure with the file and line; putting the
  // original file back makes it exit 0 again.

  /** The record line with a byte of one value flipped inside its raw bytes (still valid CBOR). */
  const flipByte = () => {
    const ls = lines(alphaLog);
    const rec = JSON.parse(ls[0]!) as Rec;
    const bytes = Buffer.from(rec.raw, 'base64');
    const at = bytes.indexOf(Buffer.from('Austin'));
    assert.ok(at > 0, 'the value is in the raw bytes');
    bytes[at] = bytes[at]! ^ 0x01; // 'A' -> '@'
    rec.raw = bytes.toString('base64');
    ls[0] = JSON.stringify(rec);
    writeLines(alphaLog, ls);
  };

  test('a flipped byte inside raw is found (CID mismatch)', () => {
    tampered(flipByte, () => {
      const { code, out } = verifyPlain();
      assert.equal(code, 2, out);
      assert.match(out, /alpha-co\/updates\/mesh\.log:1: .*content hashes to bafy\w+ but was named bafy\w+/);
    });
  });

  test('a signature swapped between two records is found', () => {
    tampered(
      () => {
        const ls = lines(alphaLog);
        const donor = JSON.parse(ls[0]!) as Rec;
        const target = JSON.parse(ls[2]!) as Rec;
        const donorDg = dagCbor.decode(Buffer.from(donor.raw, 'base64')) as Record<string, unknown>;
        const targetDg = dagCbor.decode(Buffer.from(target.raw, 'base64')) as Record<string, unknown>;
        // the signature is the datagram's only 64-byte byte string (the author key is 32 bytes)
        const sigKey = Object.keys(donorDg).find((k) => donorDg[k] instanceof Uint8Array && (donorDg[k] as Uint8Array).length === 64);
        assert.ok(sigKey, `a signature in ${Object.keys(donorDg).join(',')}`);
        assert.notDeepEqual(targetDg[sigKey], donorDg[sigKey]);
        targetDg[sigKey] = donorDg[sigKey];
        const bytes = dagCbor.encode(targetDg);
        target.raw = Buffer.from(bytes).toString('base64');
        target.cid = cidOfBytes(bytes).toString();
        ls[2] = JSON.stringify(target);
        writeLines(alphaLog, ls);
      },
      () => {
        const { code, out } = verifyPlain();
        assert.equal(code, 2, out);
        assert.match(out, /alpha-co\/updates\/mesh\.log:3: .*signature/i);
        // only the signature is wrong: the CID and the readable fields agree with the new bytes
        const { report } = verify();
        assert.equal(report.failures.length, 1, JSON.stringify(report.failures));
        assert.doesNotMatch(report.failures[0]!, /readable field|hashes to/);
      },
    );
  });

  test('a record moved to another company\'s log is found', () => {
    tampered(
      () => {
        const ls = lines(alphaLog);
        const moved = ls.pop()!;
        writeLines(alphaLog, ls);
        fs.appendFileSync(betaLog, moved + '\n');
      },
      () => {
        const { code, out } = verifyPlain();
        assert.equal(code, 2, out);
        // names the record, the company it belongs to and the log it sits in
        assert.match(out, /beta-co\/updates\/mesh\.log:3: .*companies\/alpha-co.*companies\/beta-co/);
      },
    );
  });

  test('a missing parent is found', () => {
    const ls = lines(alphaLog);
    const first = JSON.parse(ls[0]!) as Rec;
    const second = JSON.parse(ls[1]!) as Rec;
    assert.deepEqual(second.parents, [first.cid]);
    tampered(
      () => writeLines(alphaLog, ls.slice(1)),
      () => {
        const { code, out } = verifyPlain();
        assert.equal(code, 2, out);
        assert.match(out, new RegExp(`alpha-co/updates/mesh\\.log:1: .*parent ${first.cid}`));
      },
    );
  });

  test('an edited readable field is found', () => {
    tampered(
      () => {
        const ls = lines(betaLog);
        const rec = JSON.parse(ls[1]!) as Rec;
        rec.seq += 10;
        ls[1] = JSON.stringify(rec);
        writeLines(betaLog, ls);
      },
      () => {
        const { code, out } = verifyPlain();
        assert.equal(code, 2, out);
        assert.match(out, /beta-co\/updates\/mesh\.log:2: .*readable field "seq" does not match the signed bytes/);
      },
    );
  });

  test('verify --json reports every failure of a damaged root, and verify changes no file', () => {
    const tamper = () => {
      flipByte();
      const ls = lines(betaLog);
      const rec = JSON.parse(ls[1]!) as Rec;
      rec.seq += 10;
      ls[1] = JSON.stringify(rec);
      writeLines(betaLog, ls);
    };
    tampered(tamper, () => {
      const alphaDamaged = fs.readFileSync(alphaLog);
      const betaDamaged = fs.readFileSync(betaLog);
      const { code, report } = verify();
      assert.equal(code, 2);
      assert.equal(report.failures.length, 2, JSON.stringify(report.failures));
      assert.match(report.failures.join('\n'), /alpha-co\/updates\/mesh\.log:1: .*hashes to/);
      assert.match(report.failures.join('\n'), /beta-co\/updates\/mesh\.log:2: .*readable field "seq"/);
      assert.deepEqual(fs.readFileSync(alphaLog), alphaDamaged, 'verify does not rewrite what it checks');
      assert.deepEqual(fs.readFileSync(betaLog), betaDamaged);
    });
  });

  test('a torn final record is a note, not a failure, and the next update repairs it', () => {
    restore();
    const ls = lines(betaLog);
    const half = ls[1]!.slice(0, Math.floor(ls[1]!.length / 2));
    fs.appendFileSync(betaLog, half);
    const { code, report, text } = verify();
    assert.equal(code, 0, text);
    assert.deepEqual(report.failures, []);
    assert.equal(report.notes.length, 1);
    assert.match(report.notes[0]!, /beta-co\/updates\/mesh\.log: torn final record of \d+ bytes/);
    assert.match(report.notes[0]!, new RegExp(`of ${Buffer.byteLength(half)} bytes`));
    assert.match(ok(root, 'verify').stdout, /^note: .*torn/m);
    // readers ignore it
    assert.equal(logOf(root, beta).length, 2);

    ok(root, 'update', beta, 'city=Dallas');
    const after = fs.readFileSync(betaLog, 'utf8');
    assert.ok(after.endsWith('\n'));
    assert.ok(after.startsWith(betaOrig.toString('utf8')), 'the complete records are kept');
    assert.equal(lines(betaLog).length, 3);
    const again = verify();
    assert.equal(again.code, 0, again.text);
    assert.deepEqual(again.report.failures, []);
    assert.deepEqual(again.report.notes, []);
    assert.equal(logOf(root, beta).at(-1)!.ops[0]![1], 'city');
  });
});
