// Canonical DAG-CBOR for the one shape every datagram has, written straight into bytes. The generic
// encoder builds a token object per value and sorts map keys on every call: for a small datagram that
// was most of the time and nearly all the memory churn of signing one (13 KB of garbage each). Output
// is byte for byte what @ipld/dag-cbor writes (the tests compare both over random datagrams); any value
// outside the shapes handled here (integers beyond 2^53, negative zero, nested maps, null) makes the
// caller fall back to the generic encoder, so the bytes never depend on which encoder ran.
import type { CID } from 'multiformats/cid';
import type { DatagramFields, Op, Value } from './types.js';
import { entityFromWire, entityToWire, parseEntity } from './entity.js';

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1 << 5;
export const MAJOR_BYTES = 2 << 5;
const MAJOR_TEXT = 3 << 5;
export const MAJOR_ARRAY = 4 << 5;
const TAG_CID = [0xd8, 42];
const FALSE = 0xf4;
const TRUE = 0xf5;
/** DAG-CBOR writes every float in 64 bits */
const FLOAT64 = 0xfb;

/** Bytes of the shortest CBOR head for an argument `n` (a length or count below 2^32). */
export function headLength(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Writes the shortest CBOR head (major type `major`, argument `n` below 2^32) at `at`; returns where it ends. */
export function writeHead(buf: Uint8Array, at: number, major: number, n: number): number {
  if (n < 24) buf[at++] = major | n;
  else if (n < 0x100) (buf[at++] = major | 24), (buf[at++] = n);
  else if (n < 0x10000) (buf[at++] = major | 25), (buf[at++] = n >>> 8), (buf[at++] = n & 0xff);
  else (buf[at++] = major | 26), (buf[at++] = n >>> 24), (buf[at++] = (n >>> 16) & 0xff), (buf[at++] = (n >>> 8) & 0xff), (buf[at++] = n & 0xff);
  return at;
}

/**
 * Reads a CBOR head of major type `major` at `at`, only in its shortest form with an argument below
 * 2^32: [the argument, where the head ends], or undefined for anything else (another type, a longer form
 * than needed, an indefinite length, a cut).
 */
export function readShortestHead(bytes: Uint8Array, at: number, major: number): [number, number] | undefined {
  const first = bytes[at];
  if (first === undefined || (first & 0xe0) !== major) return undefined;
  const info = first & 31;
  if (info < 24) return [info, at + 1];
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
  if (size === 0 || at + 1 + size > bytes.length) return undefined;
  let n = 0;
  for (let i = 1; i <= size; i++) n = n * 256 + bytes[at + i]!;
  return headLength(n) === 1 + size ? [n, at + 1 + size] : undefined;
}

/** A value the fast path does not write: the generic encoder takes over. */
class Unhandled extends Error {}

class Writer {
  buf = Buffer.allocUnsafeSlow(1024);
  at = 0;

  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  head(major: number, n: number): void {
    this.reserve(9);
    const b = this.buf;
    if (n < 0x100000000) this.at = writeHead(b, this.at, major, n);
    else {
      b[this.at++] = major | 27;
      b.writeUInt32BE(Math.floor(n / 0x100000000), this.at);
      b.writeUInt32BE(n >>> 0, this.at + 4);
      this.at += 8;
    }
  }

  text(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.head(MAJOR_TEXT, n);
    this.reserve(n);
    this.at += this.buf.write(s, this.at, n, 'utf8');
  }

  bytes(bytes: Uint8Array): void {
    this.head(MAJOR_BYTES, bytes.length);
    this.reserve(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  int(n: number): void {
    if (!Number.isSafeInteger(n) || Object.is(n, -0)) throw new Unhandled();
    if (n >= 0) this.head(MAJOR_UINT, n);
    else this.head(MAJOR_NEGINT, -1 - n);
  }

  /** a number as DAG-CBOR writes it: an integer when it is a safe one, else a 64-bit float */
  number(n: number): void {
    if (Number.isInteger(n)) return this.int(n);
    if (!Number.isFinite(n)) throw new Unhandled();
    this.reserve(9);
    this.buf[this.at++] = FLOAT64;
    this.buf.writeDoubleBE(n, this.at);
    this.at += 8;
  }

  cid(cid: CID): void {
    this.reserve(2);
    this.buf[this.at++] = TAG_CID[0]!;
    this.buf[this.at++] = TAG_CID[1]!;
    this.head(MAJOR_BYTES, cid.bytes.length + 1);
    this.reserve(cid.bytes.length + 1);
    this.buf[this.at++] = 0; // the identity multibase prefix DAG-CBOR puts before a CID's bytes
    this.buf.set(cid.bytes, this.at);
    this.at += cid.bytes.length;
  }

  value(v: Value): void {
    if (typeof v === 'string') return this.text(v);
    if (typeof v === 'number') return this.number(v);
    if (typeof v === 'boolean') {
      this.reserve(1);
      this.buf[this.at++] = v ? TRUE : FALSE;
      return;
    }
    if (Array.isArray(v)) {
      this.head(MAJOR_ARRAY, v.length);
      for (const x of v) this.value(x);
      return;
    }
    throw new Unhandled(); // maps (key order), null, anything else
  }

  op(op: Op): void {
    this.head(MAJOR_ARRAY, op.length);
    for (const x of op) this.value(x as Value);
  }
}

const writer = new Writer();

/** the array head of a datagram (ten items) and of its unsigned part (nine) */
export const DATAGRAM_HEAD = MAJOR_ARRAY | 10;
export const UNSIGNED_HEAD = MAJOR_ARRAY | 9;

/**
 * Whether `bytes` are exactly the canonical encoding of the datagram `d` (its nine unsigned fields, then
 * the signature `z` as the tenth item), compared in place; undefined when a value is outside the shapes
 * written here.
 */
export function isCanonicalFast(d: DatagramFields & { z: Uint8Array }, bytes: Uint8Array): boolean | undefined {
  if (!writeUnsigned(d)) return undefined;
  const w = writer;
  w.bytes(d.z);
  if (w.at !== bytes.length || bytes[0] !== DATAGRAM_HEAD) return false;
  return w.buf.compare(bytes, 1, bytes.length, 1, w.at) === 0; // the array head was written for nine
}

/**
 * The canonical DAG-CBOR bytes of a datagram's unsigned fields (a list of nine, docs/protocol.md), or
 * undefined when some value is outside the shapes written here.
 */
export function encodeUnsignedFast(d: DatagramFields): Uint8Array | undefined {
  if (!writeUnsigned(d)) return undefined;
  const out = new Uint8Array(writer.at);
  out.set(writer.buf.subarray(0, writer.at));
  return out;
}

/** Writes the unsigned fields into the shared writer; false when a value is outside the shapes written here. */
function writeUnsigned(d: DatagramFields): boolean {
  const w = writer;
  w.at = 0;
  const entity = entityToWire(d.e);
  if (!entity || d.t % 1000 !== 0) return false; // the generic path says what is wrong
  try {
    w.head(MAJOR_ARRAY, 9);
    w.int(d.v);
    w.int(entity.kind);
    w.text(entity.slug);
    w.head(MAJOR_ARRAY, d.o.length);
    for (const op of d.o) w.op(op);
    w.bytes(d.a);
    w.int(d.s);
    w.int(d.l);
    w.head(MAJOR_ARRAY, d.p.length);
    for (const p of d.p) w.cid(p);
    w.int(d.t / 1000);
    return true;
  } catch (err) {
    if (err instanceof Unhandled) return false;
    throw err;
  }
}

// ---- decoding ----

/** nesting of lists inside an op value read here; deeper goes to the generic decoder (which enforces the limit) */
const MAX_FAST_DEPTH = 8;

class Reader {
  at = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly text: Buffer,
    readonly cidOf: (bytes: Uint8Array) => CID,
  ) {}

  /** the last head read: its major type and argument */
  major = 0;
  n = 0;

  /** Reads the head of the next item into major and n (only definite, safe-integer arguments). */
  head(): void {
    const b = this.bytes;
    if (this.at >= b.length) throw new Unhandled();
    const first = b[this.at++]!;
    const info = first & 31;
    this.major = first & 0xe0;
    if (info < 24) {
      this.n = info;
      return;
    }
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0 || this.at + size > b.length) throw new Unhandled(); // indefinite lengths, reserved values, a cut
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + b[this.at++]!;
    if (!Number.isSafeInteger(n)) throw new Unhandled();
    this.n = n;
  }

  expect(major: number): number {
    this.head();
    if (this.major !== major) throw new Unhandled();
    return this.n;
  }

  uint(): number {
    return this.expect(MAJOR_UINT);
  }

  string(): string {
    return this.textOf(this.expect(MAJOR_TEXT));
  }

  /** the text string of `n` bytes whose head was just read */
  private textOf(n: number): string {
    if (this.at + n > this.bytes.length) throw new Unhandled();
    const s = this.text.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }

  byteString(): Uint8Array {
    const n = this.expect(MAJOR_BYTES);
    if (this.at + n > this.bytes.length) throw new Unhandled();
    return this.bytes.subarray(this.at, (this.at += n));
  }

  value(depth: number): Value {
    if (this.bytes[this.at] === FLOAT64) {
      if (this.at + 9 > this.bytes.length) throw new Unhandled();
      const x = this.text.readDoubleBE(this.at + 1);
      if (!Number.isFinite(x)) throw new Unhandled(); // the generic decoder says what is wrong with it
      this.at += 9;
      return x;
    }
    this.head();
    const { major, n } = this;
    switch (major) {
      case MAJOR_UINT:
        return n;
      case MAJOR_NEGINT:
        if (n >= Number.MAX_SAFE_INTEGER) throw new Unhandled();
        return -1 - n;
      case MAJOR_TEXT:
        return this.textOf(n);
      case MAJOR_ARRAY: {
        if (depth >= MAX_FAST_DEPTH) throw new Unhandled();
        const out: Value[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        return out;
      }
      default:
        if (major === 0xe0 && (n === 20 || n === 21)) return n === 21; // false, true
        throw new Unhandled(); // byte strings, maps, tags, null, other simple values
    }
  }

  cid(): CID {
    if (this.bytes[this.at] !== TAG_CID[0] || this.bytes[this.at + 1] !== TAG_CID[1]) throw new Unhandled();
    this.at += 2;
    const bytes = this.byteString();
    if (bytes.length < 2 || bytes[0] !== 0) throw new Unhandled();
    return this.cidOf(bytes.subarray(1));
  }
}

/**
 * The entity a datagram names, read from its first bytes without decoding or checking the rest, or
 * undefined where they do not have the common shape. A hint only (the bytes are not yet checked): used
 * to start work a datagram will need, such as making a new entity's folder, before it is checked.
 */
export function peekEntity(bytes: Uint8Array): string | undefined {
  // a list of ten; the version and the kind are small unsigned integers (one byte each); then the slug's
  // text, whose length takes one byte (under 24) or one more (under 256; slugs are at most 255 characters)
  if (bytes.length < 4 || bytes[0] !== 0x8a || bytes[1]! >= 24 || bytes[2]! >= 24) return undefined;
  const head = bytes[3]!;
  let at = 4;
  let length: number;
  if (head >= 0x60 && head < 0x78) length = head - 0x60;
  else if (head === 0x78) length = bytes[at++] ?? Infinity;
  else return undefined;
  if (at + length > bytes.length) return undefined;
  // read as latin1: a slug with anything but [a-z0-9-] is refused by parseEntity below either way
  const entity = entityFromWire(bytes[2], Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('latin1'));
  // a valid path only: what this names becomes a folder name before the datagram is checked
  return entity !== undefined && !('error' in parseEntity(entity)) ? entity : undefined;
}

/**
 * The fields of a datagram read straight from its bytes (the same values @ipld/dag-cbor's decoder gives,
 * then named as fromWire in codec.ts names them, with byte strings and CIDs as views into `bytes`), or
 * undefined for anything but the common shape: a list of the ten fields with plain values in its ops.
 * Undefined is not a verdict: the caller decodes with the generic decoder, which says what is wrong. This
 * reader does not check that the bytes are canonical; a strict caller encodes what it read again and
 * compares.
 */
export function decodeDatagramFast(bytes: Uint8Array, cidOf: (bytes: Uint8Array) => CID): Record<string, unknown> | undefined {
  const r = new Reader(bytes, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), cidOf);
  try {
    if (r.expect(MAJOR_ARRAY) !== 10) return undefined;
    const v = r.uint();
    const e = entityFromWire(r.uint(), r.string());
    if (e === undefined) return undefined;
    const nOps = r.expect(MAJOR_ARRAY);
    const o: Value[] = [];
    for (let i = 0; i < nOps; i++) o.push(r.value(0));
    const a = r.byteString();
    const s = r.uint();
    const l = r.uint();
    const nParents = r.expect(MAJOR_ARRAY);
    const p: CID[] = [];
    for (let i = 0; i < nParents; i++) p.push(r.cid());
    const seconds = r.uint();
    if (seconds * 1000 > Number.MAX_SAFE_INTEGER) return undefined;
    const z = r.byteString();
    return r.at === bytes.length ? { v, e, o, a, s, l, p, t: seconds * 1000, z } : undefined;
  } catch (err) {
    if (err instanceof Unhandled) return undefined;
    throw err;
  }
}
