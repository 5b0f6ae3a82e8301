// The datagram's fast canonical encoder writes exactly what @ipld/dag-cbor writes, or declines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { decodeDatagramFast, encodeUnsignedFast, peekEntity } from '../../src/datagram/cbor.js';
import { InvalidDatagramError } from '../../src/datagram/errors.js';
import { cidOfBytes, datagramCidOf, unsignedBytes, decodeDatagram, assemble } from '../../src/datagram/codec.js';
import { entityFromWire, entityToWire } from '../../src/datagram/entity.js';
import { cidText, sha256CborCidText } from '../../src/datagram/cid-cache.js';
import { FORMAT_VERSION, type Op, type UnsignedDatagram, type Value } from '../../src/datagram/types.js';

/** A datagram's unsigned fields as the wire's list of nine (docs/protocol.md), for the generic encoder. */
function wireList(d: UnsignedDatagram): unknown[] {
  const entity = entityToWire(d.e)!;
  return [d.v, entity.kind, entity.slug, d.o, d.a, d.s, d.l, d.p, d.t / 1000];
}
const generic = (d: UnsignedDatagram) => dagCbor.encode(wireList(d));
/** The whole datagram's bytes by the generic encoder. */
const genericSigned = (d: UnsignedDatagram & { z: Uint8Array }) => dagCbor.encode([...wireList(d), d.z]);
/** The generic decoder's list, named as the direct reader names it. */
function named(list: unknown[]): Record<string, unknown> {
  const [v, kind, slug, o, a, s, l, p, seconds, z] = list;
  return { v, e: entityFromWire(kind, slug), o, a, s, l, p, t: (seconds as number) * 1000, z };
}

// strings over the whole of Unicode, lone surrogates included (both encoders must replace them alike)
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 30 }), fc.string({ minLength: 20, maxLength: 400 }));
const integer = fc.oneof(fc.integer({ min: -30, max: 30 }), fc.integer(), fc.maxSafeInteger(), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -24, -25, -256, -257, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER));
const value: fc.Arbitrary<Value> = fc.letrec<{ v: Value }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    text,
    integer,
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('v'), { maxKeys: 4 }), // maps: declined too
  ),
})).v;
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.tuple(fc.constant('s' as const), text, value),
  fc.tuple(fc.constant('u' as const), text),
  fc.tuple(fc.constant('+' as const), text, text),
  fc.tuple(fc.constant('-' as const), text, text),
  fc.tuple(fc.constant('m' as const), text, text, text),
  fc.tuple(fc.constant('x' as const), text, text),
  fc.tuple(fc.constant('b' as const), text),
);
const datagram: fc.Arbitrary<UnsignedDatagram> = fc.record({
  v: fc.constant(FORMAT_VERSION),
  c: text,
  // an entity the codec can write: one of the three kinds, with a valid slug (the cluster's is empty)
  e: fc.oneof(fc.constant('_cluster'), fc.tuple(fc.constantFrom('companies', 'people'), fc.stringMatching(/^[a-z0-9-]{3,40}$/)).map(([kind, slug]) => `${kind}/${slug}`)),
  o: fc.array(op, { minLength: 1, maxLength: 5 }),
  a: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  s: fc.nat(),
  l: fc.nat(),
  p: fc.array(fc.uint8Array({ maxLength: 8 }).map((b) => cidOfBytes(b)), { maxLength: 3 }),
  // whole seconds, as every datagram's time is
  t: fc.oneof(fc.nat(), fc.constant(1_764_000_000), fc.integer({ min: 0, max: Math.floor(Number.MAX_SAFE_INTEGER / 1000) })).map((x) => x * 1000),
});

test('the fast encoder writes the bytes @ipld/dag-cbor writes, or declines', () => {
  let written = 0;
  fc.assert(
    fc.property(datagram, (d) => {
      const fast = encodeUnsignedFast(d);
      if (fast) {
        written++;
        assert.deepEqual(Buffer.from(fast), Buffer.from(generic(d)));
      }
      // what the codec signs is the generic encoding either way
      assert.deepEqual(Buffer.from(unsignedBytes(d)), Buffer.from(generic(d)));
    }),
    { seed: 20261130, numRuns: 3000 },
  );
  assert.ok(written > 1000, `the fast path wrote only ${written} of 3000 datagrams`);
});

test('the fast encoder writes floats, and declines negative zero, nested maps and integers beyond 2^53', () => {
  const base: UnsignedDatagram = { v: FORMAT_VERSION, c: 'cocli', e: 'companies/acme-inc', o: [['s', 'name', 'Acme']], a: new Uint8Array(32), s: 1, l: 1, p: [], t: 1000 };
  assert.ok(encodeUnsignedFast(base));
  for (const v of [1.5, -97.7431, 5e-324, 0.1] as Value[]) {
    const d = { ...base, o: [['s', 'rating', v]] as Op[] };
    assert.deepEqual(Buffer.from(encodeUnsignedFast(d)!), Buffer.from(generic(d)), `float ${v}`);
  }
  for (const v of [-0, 2 ** 53, 1e300, { a: 1 }, [1, [2, { b: 'c' }]]] as Value[]) {
    const d = { ...base, o: [['s', 'rating', v]] as Op[] };
    assert.equal(encodeUnsignedFast(d), undefined, `took ${JSON.stringify(v)}`);
    assert.deepEqual(Buffer.from(unsignedBytes(d)), Buffer.from(generic(d)));
  }
});

test('the strict decoder still refuses bytes that are not canonical, through either encoder', () => {
  const d: UnsignedDatagram = { v: FORMAT_VERSION, c: 'cocli', e: 'companies/acme-inc', o: [['s', 'name', 'Acme']], a: new Uint8Array(32), s: 1, l: 1, p: [], t: 1000 };
  const good = assemble(unsignedBytes(d), new Uint8Array(64));
  assert.equal(decodeDatagram(good).datagram.o[0]![2], 'Acme');
  // the sequence number 1 (right after the 32-byte author) written in two bytes (0x18 0x01) instead of one
  const at = Buffer.from(good).indexOf(Buffer.from([0x58, 0x20, ...new Uint8Array(32)])) + 34;
  assert.equal(good[at], 0x01);
  const long = new Uint8Array([...good.subarray(0, at), 0x18, 0x01, ...good.subarray(at + 1)]);
  assert.throws(() => decodeDatagram(long), /not the canonical DAG-CBOR encoding/);
  assert.throws(() => decodeDatagram(long, undefined, { generic: true }), /more bytes than necessary/); // the generic decoder's own strictness
  // a float 1.0 where the integer 1 belongs: valid DAG-CBOR, caught by encoding the value again
  const float = new Uint8Array([...good.subarray(0, at), 0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, ...good.subarray(at + 1)]);
  assert.throws(() => decodeDatagram(float), /not the canonical DAG-CBOR encoding/);
});

test('cidText writes the text form multiformats writes, for CIDs of every length and version', async () => {
  const { identity } = await import('multiformats/hashes/identity');
  const { sha256 } = await import('multiformats/hashes/sha2');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), fc.constantFrom(0x55, 0x71, 0x70), (bytes, codec) => {
      for (const cid of [CID.createV1(codec, identity.digest(bytes)), cidOfBytes(bytes)]) assert.equal(cidText(cid), cid.toString());
    }),
    { seed: 20261130, numRuns: 1000 },
  );
  const v0 = CID.createV0(await sha256.digest(new Uint8Array([1, 2, 3])));
  assert.equal(cidText(v0), v0.toString()); // base58btc: not the fast path
});

test('sha256CborCidText writes the text of the dag-cbor, sha2-256 CID of a digest read in place', async () => {
  const Digest = await import('multiformats/hashes/digest');
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 96 }), fc.nat(), (bytes, at) => {
      const start = at % (bytes.length - 31);
      const cid = CID.createV1(0x71, Digest.create(0x12, bytes.slice(start, start + 32)));
      assert.equal(sha256CborCidText(bytes, start), cid.toString());
    }),
    { seed: 20261203, numRuns: 1000 },
  );
});

test('peekEntity reads the entity from the first bytes of a datagram, and only hints at damaged ones', () => {
  fc.assert(
    fc.property(signed, fc.nat(), (d, cutAt) => {
      const bytes = genericSigned(d);
      assert.equal(peekEntity(bytes), d.e);
      // cut anywhere: the entity when its bytes are all there, otherwise undefined; never an exception
      const cut = bytes.subarray(0, cutAt % (bytes.length + 1));
      const peeked = peekEntity(cut);
      assert.ok(peeked === undefined || peeked === d.e, `a cut datagram gave ${peeked}`);
    }),
    { seed: 20261203, numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const peeked = peekEntity(bytes);
      assert.ok(peeked === undefined || typeof peeked === 'string');
    }),
    { seed: 20261203, numRuns: 2000 },
  );
  // an unknown kind or a slug that is no valid path is no entity
  assert.equal(peekEntity(dagCbor.encode([FORMAT_VERSION, 9, 'acme', [], new Uint8Array(32), 1, 1, [], 0, new Uint8Array(64)])), undefined);
  assert.equal(peekEntity(dagCbor.encode([FORMAT_VERSION, 1, '../etc', [], new Uint8Array(32), 1, 1, [], 0, new Uint8Array(64)])), undefined);
});

/** A datagram's fields in comparable form: byte strings as hex, CIDs as text. */
function plain(x: unknown): unknown {
  if (x instanceof Uint8Array) return `bytes:${Buffer.from(x).toString('hex')}`;
  const cid = CID.asCID(x);
  if (cid) return `cid:${cid.toString()}`;
  if (Array.isArray(x)) return x.map(plain);
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  return x;
}

const signed = datagram.chain((d) => fc.uint8Array({ minLength: 64, maxLength: 64 }).map((z) => ({ ...d, z })));

test('the direct reader reads what @ipld/dag-cbor reads, or declines', () => {
  let read = 0;
  fc.assert(
    fc.property(signed, (d) => {
      const bytes = genericSigned(d);
      const fast = decodeDatagramFast(bytes, datagramCidOf);
      if (!fast) return;
      read++;
      assert.deepEqual(plain(fast), plain(named(dagCbor.decode(bytes) as unknown[])));
    }),
    { seed: 20261130, numRuns: 3000 },
  );
  assert.ok(read > 1000, `the direct reader read only ${read} of 3000 datagrams`);
});

test('damaged bytes get the same verdict, and the same datagram, from the direct reader as from the generic one', () => {
  const damage = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  );
  const wellFormed = signed.map((d) => ({ ...d, c: 'cocli', e: 'companies/acme-inc', o: [['s', 'name', 'Acme'], ['+', 'tags', 'x']] as Op[] }));
  fc.assert(
    fc.property(wellFormed, fc.array(damage, { minLength: 1, maxLength: 3 }), (d, damages) => {
      let bytes = Uint8Array.from(genericSigned(d));
      for (const m of damages) {
        const at = m.at % (bytes.length + 1);
        if (m.kind === 'flip' && at < bytes.length) bytes[at]! ^= m.bits;
        if (m.kind === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), m.byte, ...bytes.subarray(at)]);
        if (m.kind === 'delete') bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]);
        if (m.kind === 'cut') bytes = bytes.slice(0, at);
      }
      const verdict = (generic: boolean) => {
        try {
          const env = decodeDatagram(bytes, undefined, { generic });
          return { id: env.id, datagram: plain(env.datagram) };
        } catch (err) {
          assert.ok(err instanceof InvalidDatagramError, `not an InvalidDatagramError: ${(err as Error).message}`);
          return 'refused';
        }
      };
      assert.deepEqual(verdict(false), verdict(true));
    }),
    { seed: 20261130, numRuns: 3000 },
  );
});
