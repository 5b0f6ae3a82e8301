// The sync protocol's frames: DAG-CBOR maps, each sent with an unsigned-varint length prefix. Decoding
// is strict: a peer's malformed frame ends the session with an error naming the problem.
//   pull  {t:"pull", f:<frontier>, c?:[<CID string>...]}   the puller's frontier, and CIDs it wants by id
//   have  {t:"have", f:<change>, n:<count>}                the responder's frontier, as its change from the
//                                                          pull's, and how many datagrams it sends
//   data  {t:"data", d:[<datagram bytes>...]}              datagrams, in a causal order
//   end   {t:"end"}                                        nothing more follows
//   done  {t:"done", f:<change>}                           the puller's frontier after applying, as its
//                                                          change from the responder's (last frame)
// A change (lack.ts, frontierChange) names only the authors whose sequence numbers differ, 0 for an author
// the sender lacks: two nodes nearly in step exchange a few entries, not their whole frontiers.
import * as dagCbor from '@ipld/dag-cbor';
import { parseFrontier, type Frontier } from '../clock/frontier.js';
import type { Envelope } from '../datagram/types.js';
import { headLength, MAJOR_ARRAY, MAJOR_BYTES, readShortestHead, writeHead } from '../datagram/cbor.js';

/** Largest frame accepted; data frames are filled to DATA_FRAME_BYTES, far below yamux's 4 MiB buffer. */
export const MAX_FRAME_BYTES = 1024 * 1024;
export const DATA_FRAME_BYTES = 256 * 1024;
export const MAX_WANTED_CIDS = 256;

export type Frame =
  | { t: 'pull'; f: Frontier; c?: string[] }
  | { t: 'have'; f: Frontier; n: number }
  | { t: 'data'; d: Uint8Array[] }
  | { t: 'end' }
  | { t: 'done'; f: Frontier };

export class SyncProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncProtocolError';
  }
}

export function encodeFrame(frame: Frame): Uint8Array {
  return frame.t === 'data' ? encodeDataFrame(frame.d) : dagCbor.encode(frame);
}

// A data frame's bytes around its datagrams: {d: [...], t: "data"}, a map of two whose keys DAG-CBOR
// orders "d" then "t" (by length, then bytes). Data frames carry nearly every byte of a catch-up, so
// they are written and read directly: the generic codec made a token object per datagram both ways.
const DATA_FRAME_START = Uint8Array.of(0xa2, 0x61, 0x64); // map(2), "d"
const DATA_FRAME_END = Uint8Array.of(0x61, 0x74, 0x64, 0x64, 0x61, 0x74, 0x61); // "t", "data"

/** A data frame, byte for byte what @ipld/dag-cbor writes for {t: "data", d}. */
function encodeDataFrame(d: readonly Uint8Array[]): Uint8Array {
  let size = DATA_FRAME_START.length + headLength(d.length) + DATA_FRAME_END.length;
  for (const b of d) size += headLength(b.length) + b.length;
  const out = new Uint8Array(size);
  out.set(DATA_FRAME_START);
  let at = writeHead(out, DATA_FRAME_START.length, MAJOR_ARRAY, d.length);
  for (const b of d) {
    at = writeHead(out, at, MAJOR_BYTES, b.length);
    out.set(b, at);
    at += b.length;
  }
  out.set(DATA_FRAME_END, at);
  return out;
}

/**
 * A data frame's datagrams (copies, as the generic decoder gives them), when the bytes are exactly the
 * canonical form encodeDataFrame writes with at least one datagram; undefined for anything else, which the
 * generic decoder then accepts or refuses with its reason.
 */
function decodeDataFrame(bytes: Uint8Array): Uint8Array[] | undefined {
  if (!DATA_FRAME_START.every((b, i) => bytes[i] === b)) return undefined;
  const list = readShortestHead(bytes, DATA_FRAME_START.length, MAJOR_ARRAY);
  if (!list || list[0] === 0) return undefined;
  let at = list[1];
  const d: Uint8Array[] = [];
  for (let i = 0; i < list[0]; i++) {
    const head = readShortestHead(bytes, at, MAJOR_BYTES);
    if (!head || head[1] + head[0] > bytes.length) return undefined;
    d.push(new Uint8Array(bytes.subarray(head[1], head[1] + head[0]))); // a copy: the frame is not kept alive by its datagrams
    at = head[1] + head[0];
  }
  if (at + DATA_FRAME_END.length !== bytes.length || !DATA_FRAME_END.every((b, i) => bytes[at + i] === b)) return undefined;
  return d;
}

export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length > MAX_FRAME_BYTES) throw new SyncProtocolError(`frame of ${bytes.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const d = decodeDataFrame(bytes);
  if (d) return { t: 'data', d };
  let raw: unknown;
  try {
    raw = dagCbor.decode(bytes);
  } catch (err) {
    throw new SyncProtocolError(`frame is not DAG-CBOR: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SyncProtocolError('frame is not a map');
  const m = raw as Record<string, unknown>;
  const frontier = () => {
    try {
      return parseFrontier(m.f, 'frame');
    } catch (err) {
      throw new SyncProtocolError((err as Error).message);
    }
  };
  switch (m.t) {
    case 'pull': {
      const c = m.c;
      if (c !== undefined && (!Array.isArray(c) || c.length > MAX_WANTED_CIDS || !c.every((x) => typeof x === 'string'))) {
        throw new SyncProtocolError(`pull frame: "c" must be a list of at most ${MAX_WANTED_CIDS} CID strings`);
      }
      return { t: 'pull', f: frontier(), ...(c ? { c: c as string[] } : {}) };
    }
    case 'have':
      if (!Number.isSafeInteger(m.n) || (m.n as number) < 0) throw new SyncProtocolError('have frame: "n" must be a count');
      return { t: 'have', f: frontier(), n: m.n as number };
    case 'data':
      if (!Array.isArray(m.d) || m.d.length === 0 || !m.d.every((x) => x instanceof Uint8Array)) throw new SyncProtocolError('data frame: "d" must be a non-empty list of byte strings');
      return { t: 'data', d: m.d as Uint8Array[] };
    case 'end':
      return { t: 'end' };
    case 'done':
      return { t: 'done', f: frontier() };
    default:
      throw new SyncProtocolError(`unknown frame type ${JSON.stringify(m.t)}`);
  }
}

/** Size of a session's first data frame; each next one doubles, up to DATA_FRAME_BYTES. */
export const FIRST_DATA_FRAME_BYTES = 32 * 1024;

/**
 * The size limits of one session's data frames, in order: small at first, so the puller starts checking
 * and applying after one small frame instead of a full one (its pipeline fills in a few milliseconds, and
 * neither of its threads waits long for the other), then doubling up to DATA_FRAME_BYTES.
 */
export class FrameSizes {
  private limit: number;
  constructor(first = FIRST_DATA_FRAME_BYTES) {
    this.limit = Math.min(first, DATA_FRAME_BYTES);
  }
  next(): number {
    const limit = this.limit;
    this.limit = Math.min(DATA_FRAME_BYTES, limit * 2);
    return limit;
  }
}

/**
 * Packs datagrams into data frames within the limits `sizes` gives, frame after frame, across calls: a
 * session's datagrams arrive in chunks, and a chunk's last few datagrams wait for the next chunk instead
 * of travelling in a small frame of their own (each frame is a check batch and a durable transaction on
 * the puller). One datagram always fits.
 */
export class DataFramer {
  private batch: Uint8Array[] = [];
  private size = 0;
  private limit = 0;
  constructor(private readonly sizes = new FrameSizes()) {}

  /** The frames these datagrams fill; what does not fill one waits for more, or for `flush`. */
  *add(envs: Iterable<{ bytes: Uint8Array }>): Generator<Frame> {
    for (const env of envs) {
      if (this.batch.length && this.size + env.bytes.length + 8 > this.limit) yield this.take();
      if (!this.batch.length) this.limit = this.sizes.next(); // one limit per frame, taken when the frame starts
      this.batch.push(env.bytes);
      this.size += env.bytes.length + 8;
    }
  }

  /** The last, partly filled frame, if any. */
  *flush(): Generator<Frame> {
    if (this.batch.length) yield this.take();
  }

  private take(): Frame {
    const frame: Frame = { t: 'data', d: this.batch };
    this.batch = [];
    this.size = 0;
    return frame;
  }
}
