// Canonical DAG-CBOR encoding of datagrams, their CIDs, and the strict decoder every received byte goes through.
import crypto from 'node:crypto';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { FORMAT_VERSION, type Datagram, type DatagramFields, type Envelope, type Op, type UnsignedDatagram, type Value } from './types.js';
import { LIMITS } from './limits.js';
import { InvalidDatagramError } from './errors.js';
import { entityFromWire, entityToWire, fieldMerge, isValidFieldName, parseEntity, type EntityType } from './entity.js';
import { checkValue } from '../cocli/schema.js';
import { DATAGRAM_HEAD, UNSIGNED_HEAD, decodeDatagramFast, encodeUnsignedFast, isCanonicalFast } from './cbor.js';
import { cidText, DATAGRAM_CID_HEAD } from './cid-cache.js';

const SHA2_256 = 0x12;
/** CBOR head of the final item: a 64-byte byte string (the signature) */
const SIGNATURE_HEAD = Uint8Array.from([0x58, 0x40]);

// one-shot hashing (Node 20.12+) costs about half of a Hash object for inputs this small
const sha256: (bytes: Uint8Array) => Buffer =
  typeof crypto.hash === 'function' ? (bytes) => crypto.hash('sha256', bytes, 'buffer') : (bytes) => crypto.createHash('sha256').update(bytes).digest();

export function cidOfBytes(bytes: Uint8Array): CID {
  const cid = new Uint8Array(DATAGRAM_CID_HEAD.length + 32);
  cid.set(DATAGRAM_CID_HEAD);
  cid.set(sha256(bytes), DATAGRAM_CID_HEAD.length);
  return datagramCidOf(cid);
}

/**
 * CID.decode for a datagram's CID: the common shape is wrapped as it stands, viewing `bytes` (which must
 * not change) instead of copying parts of it; anything else goes through CID.decode.
 */
export function datagramCidOf(bytes: Uint8Array): CID {
  if (bytes.length !== 36 || DATAGRAM_CID_HEAD.some((b, i) => bytes[i] !== b)) return CID.decode(bytes);
  const multihash = bytes.subarray(2);
  return new CID(1, dagCbor.code, new Digest.Digest(SHA2_256, 32, multihash.subarray(2), multihash), bytes);
}

/** The canonical bytes of a datagram's unsigned fields: the list of nine its bytes begin with. */
export function unsignedBytes(d: DatagramFields): Uint8Array {
  return encodeUnsignedFast(d) ?? dagCbor.encode(wireList(d));
}

/** The fields as the wire's list (docs/protocol.md), for the generic encoder: nine, or ten with the signature. */
function wireList(d: DatagramFields & { z?: Uint8Array }): unknown[] {
  const entity = entityToWire(d.e);
  if (!entity) throw new InvalidDatagramError(`entity "${d.e}" cannot be encoded`);
  const fields = [d.v, entity.kind, entity.slug, d.o, d.a, d.s, d.l, d.p, d.t / 1000];
  return d.z ? [...fields, d.z] : fields;
}

/** per cluster id, its DAG-CBOR text string: what every signature of that cluster begins with */
const clusterPrefixes = new Map<string, Uint8Array>();
function clusterPrefix(cluster: string): Uint8Array {
  let prefix = clusterPrefixes.get(cluster);
  if (!prefix) {
    prefix = dagCbor.encode(cluster);
    if (clusterPrefixes.size > 16) clusterPrefixes.clear();
    clusterPrefixes.set(cluster, prefix);
  }
  return prefix;
}

/**
 * What the signature covers: the cluster id as a DAG-CBOR text string, then the unsigned fields' bytes.
 * The id is signed but never sent: a datagram checked against another cluster's id fails.
 */
export function signingMessage(cluster: string, unsigned: Uint8Array): Uint8Array {
  const prefix = clusterPrefix(cluster);
  const message = new Uint8Array(prefix.length + unsigned.length);
  message.set(prefix);
  message.set(unsigned, prefix.length);
  return message;
}

/** The signing message inside a canonical datagram's bytes, for `cluster`. */
export function signingMessageOf(bytes: Uint8Array, cluster: string): Uint8Array {
  const prefix = clusterPrefix(cluster);
  const unsignedLength = bytes.length - SIGNATURE_HEAD.length - 64;
  const message = new Uint8Array(prefix.length + unsignedLength);
  message.set(prefix);
  message.set(bytes.subarray(0, unsignedLength), prefix.length);
  message[prefix.length] = UNSIGNED_HEAD;
  return message;
}

/** A datagram's canonical bytes, by the generic encoder (the reference the direct writer is held to). */
export function canonicalBytes(d: Datagram): Uint8Array {
  return dagCbor.encode(wireList(d));
}

/** The datagram's bytes from its unsigned bytes and signature, without encoding anything twice. */
export function assemble(unsigned: Uint8Array, signature: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(unsigned.length + SIGNATURE_HEAD.length + 64);
  bytes.set(unsigned);
  bytes[0] = DATAGRAM_HEAD;
  bytes.set(SIGNATURE_HEAD, unsigned.length);
  bytes.set(signature, unsigned.length + SIGNATURE_HEAD.length);
  return bytes;
}

export function envelopeOf(datagram: Datagram, bytes: Uint8Array): Envelope {
  const cid = cidOfBytes(bytes);
  return { datagram, bytes, cid, id: cid.toString() };
}

/**
 * The datagram with its signature. A literal rather than `{ ...d, z }`: on the write path the spread's
 * slow copy was a measurable share of a datagram's cost.
 */
export function withSignature(d: DatagramFields, z: Uint8Array): Datagram {
  return { v: d.v, e: d.e, o: d.o, a: d.a, s: d.s, l: d.l, p: d.p, t: d.t, z };
}

/** Checks an unsigned datagram as a peer would check it, before it is signed. */
export function checkUnsigned(d: UnsignedDatagram): void {
  checkCluster(d.c);
  checkShape(withSignature(d, PLACEHOLDER_SIGNATURE));
}
const PLACEHOLDER_SIGNATURE = new Uint8Array(64);

function checkCluster(c: unknown): void {
  if (typeof c !== 'string' || c.length === 0 || c.length > LIMITS.maxClusterLength) fail('cluster id must be a non-empty string of at most 64 characters');
}

/**
 * Decodes bytes into a datagram and checks everything that can be checked without keys:
 * size, canonical form, shape, entity path, op kinds against field semantics, value types and lengths.
 * The signature is checked separately (verifyDatagram) because it is the expensive part.
 * `trusted` (records this node wrote and checked before, re-read from its own disk, with their CID)
 * skips the canonical re-encoding and the per-op value checks; `verify` always decodes strictly.
 * `generic` reads the bytes with @ipld/dag-cbor's decoder only: the reference the tests hold the direct
 * reader to.
 */
export function decodeDatagram(bytes: Uint8Array, expectedCid?: CID | string, opts: { trusted?: boolean; generic?: boolean } = {}): Envelope {
  if (bytes.length > LIMITS.maxBytes) throw new InvalidDatagramError(`datagram is ${bytes.length} bytes; the limit is ${LIMITS.maxBytes}`);
  // the direct reader takes the common shape; anything else, and every error, is the generic decoder's
  let raw: unknown;
  let generic: unknown;
  try {
    raw = opts.generic ? undefined : decodeDatagramFast(bytes, datagramCidOf);
    if (raw === undefined) generic = dagCbor.decode(bytes);
  } catch (err) {
    throw new InvalidDatagramError(`not DAG-CBOR: ${(err as Error).message}`);
  }
  if (raw === undefined) {
    if (Array.isArray(generic)) raw = fromWire(generic);
    else if (typeof generic === 'object' && generic !== null && 'v' in generic && 'z' in generic) {
      fail(`format version ${String((generic as { v: unknown }).v)} (a map) is not read by this version, which reads format ${FORMAT_VERSION} (a list)`);
    } else fail('datagram is not a list');
  }
  const trusted = !!opts.trusted && !!expectedCid;
  const datagram = checkShape(raw, trusted);
  if (!trusted && !(isCanonicalFast(datagram, bytes) ?? bytesEqual(canonicalBytes(datagram), bytes))) {
    throw new InvalidDatagramError('bytes are not the canonical DAG-CBOR encoding');
  }
  const cid = cidOfBytes(bytes);
  const id = cidText(cid);
  // a name given as a string is compared as one: no need to parse it back into a CID
  if (expectedCid && (typeof expectedCid === 'string' ? id !== expectedCid : !cid.equals(expectedCid))) {
    throw new InvalidDatagramError(`content hashes to ${id} but was named ${expectedCid}`);
  }
  return { datagram, bytes, cid, id };
}

function fail(msg: string): never {
  throw new InvalidDatagramError(msg);
}

function isUint(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/**
 * A datagram's list of ten, as the generic decoder gives it, named as in memory: the entity's kind and
 * slug become its path, the time in seconds becomes milliseconds.
 */
function fromWire(items: unknown[]): Record<string, unknown> {
  if (items.length !== 10) fail(`datagram is a list of ${items.length} items, expected 10`);
  const [v, kind, slug, o, a, s, l, p, seconds, z] = items;
  // before the other items are read by position: another version may place them differently
  if (v !== FORMAT_VERSION) fail(`format version ${String(v)} is not supported (expected ${FORMAT_VERSION})`);
  const e = entityFromWire(kind, slug);
  if (e === undefined) fail(`entity kind ${String(kind)} with slug ${JSON.stringify(slug)} is not companies (1), people (2) or the cluster entity (0, empty slug)`);
  if (!isUint(seconds) || seconds * 1000 > Number.MAX_SAFE_INTEGER) fail('wall time must be a non-negative whole number of seconds');
  return { v, e, o, a, s, l, p, t: seconds * 1000, z };
}

/** `trusted`: skip the per-op value checks (records this node wrote and already checked). */
function checkShape(raw: unknown, trusted = false): Datagram {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('datagram is not a list');
  const d = raw as Record<string, unknown>;
  if (d.v !== FORMAT_VERSION) fail(`format version ${String(d.v)} is not supported (expected ${FORMAT_VERSION})`);
  if (typeof d.e !== 'string') fail('entity must be a string');
  const entity = parseEntity(d.e);
  if ('error' in entity) fail(entity.error);
  if (!(d.a instanceof Uint8Array) || d.a.length !== 32) fail('author must be a 32-byte Ed25519 public key');
  if (!(d.z instanceof Uint8Array) || d.z.length !== 64) fail('signature must be 64 bytes');
  if (!isUint(d.s) || d.s < 1) fail('sequence number must be an integer >= 1');
  if (!isUint(d.l) || d.l < 1) fail('Lamport number must be an integer >= 1');
  if (!isUint(d.t) || d.t % 1000 !== 0) fail(`wall time must be a non-negative whole number of seconds (got ${String(d.t)} ms)`);
  if (!Array.isArray(d.p) || d.p.length > LIMITS.maxParents) fail(`parents must be a list of at most ${LIMITS.maxParents} CIDs`);
  for (const p of d.p) {
    const cid = CID.asCID(p);
    if (!cid || cid.version !== 1 || cid.code !== dagCbor.code || cid.multihash.code !== SHA2_256) fail('every parent must be a CIDv1 (dag-cbor, sha2-256)');
  }
  if (d.p.length === 0 && d.l !== 1) fail('a datagram without parents must have Lamport number 1');
  for (let i = 1; i < d.p.length; i++) {
    if (compareBytes((d.p[i - 1] as CID).bytes, (d.p[i] as CID).bytes) >= 0) fail('parents must be sorted by their bytes and unique');
  }
  if (!Array.isArray(d.o) || d.o.length === 0 || d.o.length > LIMITS.maxOps) fail(`ops must be a list of 1 to ${LIMITS.maxOps} ops`);
  if (!trusted) checkOps(entity.type, d.o);
  return d as unknown as Datagram;
}

function checkString(x: unknown, what: string): string {
  if (typeof x !== 'string') fail(`${what} must be a string`);
  // UTF-8 takes at most 3 bytes per UTF-16 unit: most strings need no byte count at all
  if (x.length * 3 > LIMITS.maxValueBytes && Buffer.byteLength(x, 'utf8') > LIMITS.maxValueBytes) fail(`${what} is longer than ${LIMITS.maxValueBytes} bytes`);
  return x;
}

function checkKey(x: unknown, what: string): string {
  if (typeof x !== 'string' || x.length === 0 || x.length > LIMITS.maxKeyLength) fail(`${what} must be a string of 1 to ${LIMITS.maxKeyLength} characters`);
  if (/[\u0000-\u001f\u007f]/.test(x)) fail(`${what} contains a control character`);
  return x;
}

function checkStructured(x: unknown, what: string, depth: number): void {
  if (depth > LIMITS.maxDepth) fail(`${what} is nested deeper than ${LIMITS.maxDepth}`);
  if (typeof x === 'string') return void checkString(x, what);
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) fail(`${what} is not a finite number`);
    return;
  }
  if (typeof x === 'boolean') return;
  if (Array.isArray(x)) return x.forEach((y, i) => checkStructured(y, `${what}[${i}]`, depth + 1));
  if (typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && !CID.asCID(x)) {
    for (const [k, v] of Object.entries(x)) {
      checkKey(k, `key in ${what}`);
      checkStructured(v, `${what}.${k}`, depth + 1);
    }
    return;
  }
  fail(`${what} must be a string, number, boolean, list or map`);
}

/** elements of each op kind's list, the kind included */
const ARITY: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, { s: 3, u: 2, '+': 3, '-': 3, m: 4, x: 3 }));

function checkOps(type: EntityType, ops: unknown[]): void {
  // one op cannot repeat itself: the sets that catch repeats are made only for several
  const registers = ops.length > 1 ? new Set<string>() : undefined;
  const members = ops.length > 1 ? new Set<string>() : undefined;
  const kindName = type === 'cluster' ? 'company' : type;
  ops.forEach((op, i) => {
    const at = `op ${i}`;
    if (!Array.isArray(op) || op.length === 0) fail(`${at} is not a list`);
    const kind = op[0];
    if (kind === 'b') {
      if (op.length !== 2) fail(`${at}: body op takes exactly one value`);
      checkString(op[1], `${at} body`);
      if (registers?.has('\u0000body')) fail(`${at}: body set twice in one datagram`);
      registers?.add('\u0000body');
      return;
    }
    const field = checkKey(op[1], `${at} field`);
    if (!isValidFieldName(field)) fail(`${at}: "${field}" is not a valid field name`);
    const merge = fieldMerge(type, field);
    const arity = ARITY[kind as string];
    if (arity === undefined) fail(`${at}: unknown op kind ${JSON.stringify(kind)}`);
    if (op.length !== arity) fail(`${at}: "${kind}" takes ${arity - 1} arguments`);
    const expected = kind === 's' || kind === 'u' ? 'register' : kind === '+' || kind === '-' ? 'set' : 'map';
    if (merge !== expected) fail(`${at}: field "${field}" is a ${merge} field; "${kind}" is a ${expected} op`);
    if (merge === 'register') {
      if (registers?.has(field)) fail(`${at}: field "${field}" set twice in one datagram`);
      registers?.add(field);
      if (kind === 's') {
        checkStructured(op[2], `${at} value of ${field}`, 0);
        if (type !== 'cluster') {
          const problem = checkValue(kindName, field, op[2]);
          if (problem) fail(`${at}: ${problem}`);
        }
      }
    } else {
      const member = merge === 'set' ? checkString(op[2], `${at} member of ${field}`) : checkKey(op[2], `${at} key of ${field}`);
      if (merge === 'set' && (member.length === 0 || /[\r\n]/.test(member) || member.trim() !== member)) {
        fail(`${at}: a member of ${field} must be one non-empty line without surrounding spaces`);
      }
      if (members) {
        const slot = `${field}\u0000${member}`;
        if (members.has(slot)) fail(`${at}: ${field} "${member}" changed twice in one datagram`);
        members.add(slot);
      }
      if (kind === 'm') checkString(op[3], `${at} value of ${field}.${member}`);
    }
  });
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** Sorts CIDs the way datagram parents are stored. */
export function sortCids(cids: CID[]): CID[] {
  return [...cids].sort((x, y) => compareBytes(x.bytes, y.bytes));
}

export type { Op, Value };
