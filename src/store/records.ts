// The text form of a datagram in every log (entity logs, the journal, pending): one JSON object per
// line. The readable fields are for people (cat, grep); `raw` holds the exact canonical bytes, so the
// record is losslessly re-verifiable. Readers trust only `raw` and `cid`; verify also checks the rest.
import { decodeDatagram } from '../datagram/codec.js';
import { peerIdOf } from '../datagram/author.js';
import { cidText } from '../datagram/cid-cache.js';
import { base64Bytes } from './slab.js';
import type { Envelope, Op } from '../datagram/types.js';

export interface RecordJson {
  cid: string;
  entity: string;
  author: string;
  seq: number;
  lamport: number;
  time: string;
  parents: string[];
  ops: Op[];
  raw: string;
}

export function recordOf(env: Envelope): RecordJson {
  const d = env.datagram;
  return {
    cid: env.id,
    entity: d.e,
    author: peerIdOf(d.a),
    seq: d.s,
    lamport: d.l,
    time: new Date(d.t).toISOString(),
    parents: d.p.map(cidText),
    ops: d.o,
    raw: Buffer.from(env.bytes.buffer, env.bytes.byteOffset, env.bytes.byteLength).toString('base64'),
  };
}

/**
 * Lines already made for envelopes elsewhere: a signing worker makes them with the datagrams, as UTF-8
 * bytes, so this thread neither copies them as strings nor encodes them again to write them.
 */
const madeLines = new WeakMap<Envelope, Uint8Array>();

export function recordLine(env: Envelope): string {
  const made = madeLines.get(env);
  return made ? Buffer.from(made.buffer, made.byteOffset, made.length).toString('utf8') : lineOf(env);
}

/** recordLine as UTF-8 bytes: what is written to a log. */
export function recordBytes(env: Envelope): Uint8Array {
  return madeLines.get(env) ?? Buffer.from(lineOf(env), 'utf8');
}

const lineOf = (env: Envelope): string => JSON.stringify(recordOf(env)) + '\n';

/** Remembers the record line (UTF-8) another thread made for `env` with recordLine (so it is not made again). */
export function rememberRecordLine(env: Envelope, line: Uint8Array): void {
  madeLines.set(env, line);
}

/** Forgets a line rememberRecordLine was given (its memory is about to be reused); recordLine makes it again. */
export function forgetRecordLine(env: Envelope): void {
  madeLines.delete(env);
}

const CID_PREFIX = '{"cid":"';
const RAW_KEY = ',"raw":"';

/**
 * The CID a record line names, read without parsing the line, as recordLine wrote it (the CID first);
 * undefined for a line in any other shape. The CID alone is trusted for nothing but finding the record.
 */
export function recordCid(line: string): string | undefined {
  if (!line.startsWith(CID_PREFIX)) return undefined;
  const end = line.indexOf('"', CID_PREFIX.length);
  const cid = end > 0 ? line.slice(CID_PREFIX.length, end) : undefined;
  return cid === undefined || cid.includes('\\') ? undefined : cid; // an escape: only JSON parsing tells the value
}

/**
 * `cid` and `raw` of a line as recordLine wrote it (`cid` first, `raw` last), found without parsing the
 * readable fields between them: readers trust nothing else, and a JSON string never holds an unescaped
 * quote, so `,"raw":"` cannot occur inside a value. Undefined for a line in any other shape.
 */
function quickFields(line: string): { cid: string; raw: string } | undefined {
  const cid = recordCid(line);
  if (cid === undefined || !line.endsWith('"}')) return undefined;
  const at = line.lastIndexOf(RAW_KEY);
  if (at < 0) return undefined;
  const raw = line.slice(at + RAW_KEY.length, line.length - 2);
  // base64 as JSON.stringify writes it holds no quote or escape: with either, the slice is not the value
  return raw.includes('"') || raw.includes('\\') ? undefined : { cid, raw };
}

/** `cid` and `raw` of a record line: from their fixed places when the line has recordLine's shape, else parsed. */
function storedFields(line: string): { cid: string; raw: string } {
  return quickFields(line) ?? recordJsonOf(line);
}

/** A record line's JSON, with the two fields readers rely on checked. */
function recordJsonOf(line: string): RecordJson {
  let record: RecordJson;
  try {
    record = JSON.parse(line) as RecordJson;
  } catch {
    throw new Error('record is not valid JSON');
  }
  if (typeof record?.raw !== 'string' || typeof record.cid !== 'string') throw new Error('record lacks "raw" or "cid"');
  return record;
}

/** Parses one record line with its readable fields (verify compares them); throws naming what is wrong. */
export function parseRecord(line: string): { env: Envelope; record: RecordJson } {
  const record = recordJsonOf(line);
  const env = decodeDatagram(base64Bytes(record.raw), record.cid);
  return { env, record };
}

/**
 * The datagram of a record line this node wrote and checked before (its own logs): decoded trusted (see
 * decodeDatagram), the bytes still hashed against the CID; the readable fields are not parsed.
 */
export function readRecord(line: string): Envelope {
  const { cid, raw } = storedFields(line);
  return decodeDatagram(base64Bytes(raw), cid, { trusted: true });
}

/** A datagram's CID and exact bytes, as stored: what a peer or a pack is sent (the receiver verifies them). */
export interface RawDatagram {
  id: string;
  bytes: Uint8Array;
}

/** The CID and bytes of a record line without decoding the datagram (serving a peer). */
export function rawOfRecord(line: string): RawDatagram {
  const { cid, raw } = storedFields(line);
  return { id: cid, bytes: base64Bytes(raw) };
}

/** Differences between a record's readable fields and what its raw bytes say (empty: consistent). */
export function recordMismatches(record: RecordJson, env: Envelope): string[] {
  const expected = recordOf(env) as unknown as Record<string, unknown>;
  const got = record as unknown as Record<string, unknown>;
  return Object.keys(expected)
    .filter((k) => JSON.stringify(expected[k]) !== JSON.stringify(got[k]))
    .map((k) => `readable field "${k}" does not match the signed bytes`);
}
