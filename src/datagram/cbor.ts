// Canonical DAG-CBOR for the one shape every datagram has, written straight into bytes. The generic
// encoder builds a token object per value and sorts map keys on every call: for a small datagram that
// was most of the time and nearly all the memory churn of signing one (13 KB of garbage each). Output
// is byte for byte what @ipld/dag-cbor writes (the tests compare both over random datagrams); any value
// outside the shapes handled here (floats, integers beyond 2^53, nested maps, null) makes the caller
// fall back to the generic encoder, so the bytes never depend on which encoder ran.
import type { CID } from 'multiformats/cid';
import type { Op, UnsignedDatagram, Value } from './types.js';

const MAJOR_UINT = 0;
const MAJOR_NEGINT = 1 << 5;
const MAJOR_BYTES = 2 << 5;
const MAJOR_TEXT = 3 << 5;
const MAJOR_ARRAY = 4 << 5;
const MAJOR_MAP = 5 << 5;
const TAG_CID = [0xd8, 42];
const FALSE = 0xf4;
const TRUE = 0xf5;

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
    if (n < 24) b[this.at++] = major | n;
    else if (n < 0x100) (b[this.at++] = major | 24), (b[this.at++] = n);
    else if (n < 0x10000) (b[this.at++] = major | 25), b.writeUInt16BE(n, this.at), (this.at += 2);
    else if (n < 0x100000000) (b[this.at++] = major | 26), b.writeUInt32BE(n, this.at), (this.at += 4);
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

  /** a one-character map key */
  key(k: string): void {
    this.reserve(2);
    this.buf[this.at++] = MAJOR_TEXT | 1;
    this.buf[this.at++] = k.charCodeAt(0);
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
    if (typeof v === 'number') return this.int(v);
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

/**
 * The canonical DAG-CBOR bytes of an unsigned datagram (a map of its nine fields, keys in DAG-CBOR's
 * order), or undefined when some value is outside the shapes written here.
 */
export function encodeUnsignedFast(d: UnsignedDatagram): Uint8Array | undefined {
  const w = writer;
  w.at = 0;
  try {
    w.head(MAJOR_MAP, 9);
    // one-byte keys: DAG-CBOR's order (shorter first, then bytewise) is plain alphabetical here
    w.key('a');
    w.bytes(d.a);
    w.key('c');
    w.text(d.c);
    w.key('e');
    w.text(d.e);
    w.key('l');
    w.int(d.l);
    w.key('o');
    w.head(MAJOR_ARRAY, d.o.length);
    for (const op of d.o) w.op(op);
    w.key('p');
    w.head(MAJOR_ARRAY, d.p.length);
    for (const p of d.p) w.cid(p);
    w.key('s');
    w.int(d.s);
    w.key('t');
    w.int(d.t);
    w.key('v');
    w.int(d.v);
  } catch (err) {
    if (err instanceof Unhandled) return undefined;
    throw err;
  }
  const out = new Uint8Array(w.at);
  out.set(w.buf.subarray(0, w.at));
  return out;
}
