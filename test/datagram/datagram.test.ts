// The datagram: canonical encoding, CIDs, signatures, PeerIDs, and the strict decoder's limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dagCbor from '@ipld/dag-cbor';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { Signer, verifyDatagram } from '../../src/datagram/sign.js';
import { decodeDatagram, cidOfBytes, canonicalBytes } from '../../src/datagram/codec.js';
import { peerIdOf, publicKeyOfPeerId } from '../../src/datagram/author.js';
import { InvalidDatagramError } from '../../src/datagram/errors.js';
import { FORMAT_VERSION, type Datagram, type Op, type UnsignedDatagram } from '../../src/datagram/types.js';

const key = await generateKeyPair('Ed25519');
const signer = new Signer(key.raw.subarray(0, 32), key.publicKey.raw);

function unsigned(over: Partial<UnsignedDatagram> = {}): UnsignedDatagram {
  return { v: FORMAT_VERSION, c: 'cocli', e: 'companies/acme-inc', o: [['s', 'name', 'Acme']], a: key.publicKey.raw, s: 1, l: 1, p: [], t: 1_700_000_000_000, ...over };
}

/**
 * The wire list of a datagram, written by hand with the generic encoder (so also for entities the codec
 * would refuse to encode): [v, kind, slug, ops, author, seq, Lamport, parents, seconds, signature].
 */
function wire(d: Omit<Datagram, 'z'> & { z?: Uint8Array }): Uint8Array {
  const [prefix, slug] = d.e === '_cluster' ? ['_cluster', ''] : d.e.split('/');
  const kind = ({ _cluster: 0, companies: 1, people: 2 } as Record<string, number>)[prefix!] ?? 9;
  return dagCbor.encode([d.v, kind, slug, d.o, d.a, d.s, d.l, d.p, d.t / 1000, d.z ?? new Uint8Array(64)]);
}

/** Both the signer (before signing) and the decoder (on received bytes) refuse it. */
function rejects(over: Partial<UnsignedDatagram>, pattern: RegExp): void {
  const check = (err: Error) => err instanceof InvalidDatagramError && pattern.test(err.message);
  assert.throws(() => signer.sign(unsigned(over)), check);
  assert.throws(() => decodeDatagram(wire(unsigned(over))), check);
}

test('a signed datagram decodes to itself, keeps its CID, and verifies', () => {
  const env = signer.sign(unsigned());
  const back = decodeDatagram(env.bytes, env.cid);
  assert.equal(back.id, env.id);
  assert.deepEqual(back.datagram.o, [['s', 'name', 'Acme']]);
  verifyDatagram(back, 'cocli');
  assert.ok(env.id.startsWith('bafyrei'), 'CIDv1 dag-cbor sha2-256 in base32');
  // the bytes assembled from the signed part are exactly the canonical encoding of the whole datagram
  assert.deepEqual(Buffer.from(env.bytes), Buffer.from(canonicalBytes(env.datagram)));
  assert.deepEqual(Buffer.from(env.bytes), Buffer.from(wire(env.datagram)));
});

test('the author id is the libp2p PeerID of the node key', () => {
  assert.equal(peerIdOf(key.publicKey.raw), peerIdFromPrivateKey(key).toString());
  assert.deepEqual(publicKeyOfPeerId(peerIdOf(key.publicKey.raw)), key.publicKey.raw);
});

test('a flipped signature bit, another cluster, or a wrong CID is refused', () => {
  const env = signer.sign(unsigned());
  const z = new Uint8Array(env.datagram.z);
  z[5] ^= 1;
  const forged = decodeDatagram(wire({ ...env.datagram, z }));
  assert.throws(() => verifyDatagram(forged, 'cocli'), /invalid signature/);
  // the cluster id is signed but not sent: checked against another cluster, the signature fails
  assert.throws(() => verifyDatagram(env, 'other'), /invalid signature \(or belongs to another cluster than "other"\)/);
  const other = signer.sign(unsigned({ s: 2 }));
  assert.throws(() => decodeDatagram(env.bytes, other.cid), /hashes to/);
});

test('non-canonical or trailing bytes are refused', () => {
  const env = signer.sign(unsigned());
  assert.throws(() => decodeDatagram(new Uint8Array([...env.bytes, 0])), InvalidDatagramError);
  assert.throws(() => decodeDatagram(new Uint8Array([0x81, 0x02])), /list of 1 items, expected 10/);
  // the sequence number (right after the 32-byte author) in two bytes instead of one: the same values,
  // not the canonical bytes
  const at = Buffer.from(env.bytes).indexOf(Buffer.from([0x58, 0x20, ...env.datagram.a])) + 34;
  assert.equal(env.bytes[at], 0x01);
  const padded = new Uint8Array([...env.bytes.subarray(0, at), 0x18, 0x01, ...env.bytes.subarray(at + 1)]);
  assert.throws(() => decodeDatagram(padded), /canonical/);
});

test('format 1 (a map) is refused with its version named', () => {
  const env = signer.sign(unsigned());
  const { v: _v, ...rest } = env.datagram;
  const old = dagCbor.encode({ ...rest, v: 1, c: 'cocli' });
  assert.throws(() => decodeDatagram(old), /format version 1 \(a map\) is not read by this version, which reads format 2/);
});

test('the wall time is whole seconds on the wire, refused otherwise', () => {
  rejects({ t: 1_700_000_000_001 }, /wall time must be a non-negative whole number of seconds/);
  const env = signer.sign(unsigned({ t: 1_700_000_123_000 }));
  assert.equal(decodeDatagram(env.bytes).datagram.t, 1_700_000_123_000);
});

test('the entity travels as a kind number and a slug', () => {
  for (const e of ['companies/acme-inc', 'people/jane-doe', '_cluster']) {
    const env = signer.sign(unsigned({ e, o: e === '_cluster' ? [['s', 'name', 'x']] : e.startsWith('people') ? [['s', 'name', 'Jane']] : [['s', 'name', 'Acme']] }));
    const list = dagCbor.decode(env.bytes) as unknown[];
    assert.deepEqual(list.slice(1, 3), e === '_cluster' ? [0, ''] : [e.startsWith('people') ? 2 : 1, e.split('/')[1]]);
    assert.equal(decodeDatagram(env.bytes).datagram.e, e);
  }
  assert.throws(() => decodeDatagram(wire({ ...unsigned(), e: 'teams/acme-inc' })), /entity kind 9/);
});

test('strict decoding enforces shape, entity syntax, op kinds and cocli types', () => {
  rejects({ e: 'companies/Acme_Inc' }, /slug/);
  rejects({ e: 'projects/x-y-z' }, /not companies/);
  rejects({ o: [['+', 'name', 'x']] }, /register field/);
  rejects({ o: [['s', 'tags', 'x']] }, /set field/);
  rejects({ o: [['s', 'reviews_count', 'many']] }, /reviews_count/);
  rejects({ o: [['s', 'name', 'a'], ['s', 'name', 'b']] }, /set twice/);
  rejects({ o: [] }, /ops must be/);
  rejects({ o: Array.from({ length: 5000 }, (_, i): Op => ['+', 'tags', `t${i}`]) }, /ops must be/);
  rejects({ o: [['b', 'x'.repeat(200_000)]] }, /longer than/);
  rejects({ l: 2 }, /Lamport number 1/);
  rejects({ s: 0 }, /sequence number/);
  rejects({ o: [['+', 'tags', ' padded ']] }, /surrounding spaces/);
  rejects({ o: [['z', 'name'] as unknown as Op] }, /unknown op kind/);
});

test('a datagram that sets a 100-byte name is small', () => {
  const name = 'N'.repeat(100);
  const first = signer.sign(unsigned({ o: [['s', 'name', name]] }));
  const withParent = signer.sign(unsigned({ o: [['s', 'name', name]], s: 2, l: 2, p: [cidOfBytes(first.bytes)] }));
  // signature 66, author 34, the op 111, the slug 9: a first write fits in 240 bytes
  assert.ok(first.bytes.length <= 240, `${first.bytes.length} bytes`);
  assert.ok(withParent.bytes.length <= 240 + 41, `${withParent.bytes.length} bytes`);
});

test('libsodium and node:crypto produce identical signatures and agree on validity', async () => {
  const { nodeEd25519, ed25519 } = await import('../../src/datagram/ed25519.js');
  const { signatureValid } = await import('../../src/datagram/sign.js');
  const viaNode = new Signer(key.raw.subarray(0, 32), key.publicKey.raw, nodeEd25519);
  const viaDefault = new Signer(key.raw.subarray(0, 32), key.publicKey.raw, ed25519);
  const a = viaNode.sign(unsigned({ s: 9 }));
  const b = viaDefault.sign(unsigned({ s: 9 }));
  assert.deepEqual(Buffer.from(a.bytes), Buffer.from(b.bytes));
  const author = a.datagram.a;
  assert.ok(signatureValid(a.bytes, author, 'cocli', nodeEd25519) && signatureValid(a.bytes, author, 'cocli', ed25519));
  const bad = Uint8Array.from(a.bytes);
  bad[bad.length - 64] ^= 0x80; // the signature's first byte
  assert.ok(!signatureValid(bad, author, 'cocli', nodeEd25519) && !signatureValid(bad, author, 'cocli', ed25519));
  assert.ok(!signatureValid(a.bytes, author, 'another-cluster', ed25519), 'the cluster id is part of what is signed');
});
