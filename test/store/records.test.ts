// Log records: what trusted readers take from a line (its cid and raw), and what they refuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Signer } from '../../src/datagram/sign.js';
import { FORMAT_VERSION } from '../../src/datagram/types.js';
import { rawOfRecord, readRecord, recordCid, recordLine } from '../../src/store/records.js';

const key = await generateKeyPair('Ed25519');
const signer = new Signer(key.raw.subarray(0, 32), key.publicKey.raw);
// a value holding the very text that separates the raw field, quoted as JSON quotes it
const env = signer.sign({ v: FORMAT_VERSION, c: 'cocli', e: 'companies/acme-inc', o: [['s', 'notes', 'tricky ,"raw":"x"} text']], a: signer.publicKey, s: 1, l: 1, p: [], t: 1_767_225_600_000 });
const line = recordLine(env).trimEnd();

test('a record line as written is read back to the same datagram, however its readable fields look', () => {
  assert.equal(recordCid(line), env.id);
  assert.equal(readRecord(line).id, env.id);
  assert.deepEqual(readRecord(line).datagram.o, env.datagram.o);
  assert.deepEqual(rawOfRecord(line).bytes, env.bytes);
  // readable fields edited by hand change nothing a reader takes (verify reports them)
  const edited = line.replace('"seq":1', '"seq":7');
  assert.equal(readRecord(edited).datagram.s, 1);
});

test('a record in another shape is read through full JSON parsing, with the same result', () => {
  const record = JSON.parse(line) as Record<string, unknown>;
  const reordered = JSON.stringify({ raw: record.raw, ...record });
  assert.equal(recordCid(reordered), undefined);
  assert.equal(readRecord(reordered).id, env.id);
  // an escaped character in raw: the JSON value, not the text, is the base64
  const escaped = line.replace(/"raw":"(.)/, (_m, c: string) => `"raw":"\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  assert.notEqual(escaped, line);
  assert.equal(readRecord(escaped).id, env.id);
});

test('a record whose bytes do not hash to its cid, or that is not JSON, is refused with a reason', () => {
  const other = signer.sign({ ...env.datagram, c: 'cocli', s: 2 });
  const swapped = line.replace(env.id, other.id);
  assert.throws(() => readRecord(swapped), /hashes to .* but was named/);
  assert.throws(() => readRecord(line.slice(0, -5)), /not valid JSON/);
  assert.throws(() => readRecord('{"cid":"x"}'), /lacks "raw" or "cid"/);
});
