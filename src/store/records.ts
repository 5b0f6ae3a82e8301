// The text form of a datagram in every log (entity logs, the journal, pending): one JSON object per
// line. The readable fields are for people (cat, grep); `raw` holds the exact canonical bytes, so the
// record is losslessly re-verifiable. Readers trust only `raw` and `cid`; verify also checks the rest.
import { decodeDatagram } from '../datagram/codec.js';
import { peerIdOf } from '../datagram/author.js';
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
    parents: d.p.map((p) => p.toString()),
    ops: d.o,
    raw: Buffer.from(env.bytes).toString('base64'),
  };
}

export function recordLine(env: Envelope): string {
  return JSON.stringify(recordOf(env)) + '\n';
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

/** Parses one record line; throws with a message naming what is wrong. `trusted`: see decodeDatagram. */
export function parseRecord(line: string, opts: { trusted?: boolean } = {}): { env: Envelope; record: RecordJson } {
  const record = recordJsonOf(line);
  const env = decodeDatagram(new Uint8Array(Buffer.from(record.raw, 'base64')), record.cid, opts);
  return { env, record };
}

/** A datagram's CID and exact bytes, as stored: what a peer or a pack is sent (the receiver verifies them). */
export interface RawDatagram {
  id: string;
  bytes: Uint8Array;
}

/** The CID and bytes of a record line without decoding the datagram (serving a peer). */
export function rawOfRecord(line: string): RawDatagram {
  const record = recordJsonOf(line);
  const buf = Buffer.from(record.raw, 'base64');
  return { id: record.cid, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.length) };
}

/** Differences between a record's readable fields and what its raw bytes say (empty: consistent). */
export function recordMismatches(record: RecordJson, env: Envelope): string[] {
  const expected = recordOf(env) as unknown as Record<string, unknown>;
  const got = record as unknown as Record<string, unknown>;
  return Object.keys(expected)
    .filter((k) => JSON.stringify(expected[k]) !== JSON.stringify(got[k]))
    .map((k) => `readable field "${k}" does not match the signed bytes`);
}
