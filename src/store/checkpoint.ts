// Checkpoints: an entity's merged state with the metadata needed to keep merging (register entries with
// their stamps, set add entries, the causal metadata of every folded datagram), the heads it covers, and
// what it folded. Stored as the first line of the entity's log, `{"checkpoint": {...}}`, so compaction
// rewrites one existing file instead of creating files (`head -1 mesh.log | jq` shows it).
//
// On disk the state is packed (format 3): author keys appear once, in a table, and so do the CIDs of the
// folded datagrams (the dag, a list): everything else names them by position; entries and version vectors
// are arrays. A checkpoint of 10 datagrams on a typical company is 17.6 KB in format 1 (the in-memory
// shape), 9.8 KB in format 2 (authors by position) and about 6.6 KB in format 3; compaction's time and a
// compacted entity's load time follow those bytes. Formats 1 and 2 are still read.
import { peerIdOf } from '../datagram/author.js';
import type { DagNode, EntityState, Entry } from '../merge/state.js';
import type { Value } from '../datagram/types.js';
import type { HistoryRange } from './history.js';

export const CHECKPOINT_FORMAT = 'cocli-mesh checkpoint 3';
const FORMAT_1 = 'cocli-mesh checkpoint 1';
const FORMAT_2 = 'cocli-mesh checkpoint 2';
export const LINE_PREFIX = '{"checkpoint":';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  entity: string;
  /** datagrams folded in, in total */
  folded: number;
  /** wall-clock range of the folded datagrams (for people; never used for ordering) */
  timeRange: [string, string] | null;
  /** per author PeerID: the lowest and highest sequence number folded */
  seqRange: Record<string, [number, number]>;
  /** where the folded datagrams are kept (.mesh/history segments), and whether older ones were dropped */
  history: { ranges: HistoryRange[]; dropped: boolean };
  /** the merged state; `state.dag` lists every folded CID with its Lamport number and version vector */
  state: EntityState;
}

export function isCheckpointLine(line: string): boolean {
  return line.startsWith(LINE_PREFIX);
}

/** The checkpoint's JSON as stored (state packed). */
export function checkpointJson(cp: Checkpoint): string {
  // a literal, not a spread of cp: V8 copies spread objects on a slow path
  const { entity, folded, timeRange, seqRange, history } = cp;
  return JSON.stringify({ format: CHECKPOINT_FORMAT, entity, folded, timeRange, seqRange, history, state: packState(cp.state) });
}

export function checkpointLine(cp: Checkpoint): string {
  return `${LINE_PREFIX}${checkpointJson(cp)}}\n`;
}

/** A checkpoint line's JSON, its header checked, the state still as stored. */
function storedCheckpoint(line: string, entity: string): Checkpoint {
  let cp: Checkpoint;
  try {
    cp = (JSON.parse(line) as { checkpoint: Checkpoint }).checkpoint;
  } catch (err) {
    throw new Error(`checkpoint is not valid JSON (${(err as Error).message})`);
  }
  const format = (cp as { format?: unknown } | undefined)?.format;
  if ((format !== CHECKPOINT_FORMAT && format !== FORMAT_2 && format !== FORMAT_1) || cp.entity !== entity || typeof cp.state?.dag !== 'object' || !Array.isArray(cp.history?.ranges)) {
    throw new Error(`not a checkpoint of ${entity}`);
  }
  return cp;
}

/** Only where a checkpoint's folded datagrams are kept (serving them needs no merge state). */
export function checkpointHistory(line: string, entity: string): Checkpoint['history'] {
  return storedCheckpoint(line, entity).history;
}

/** Parses a checkpoint line; throws naming what is wrong. */
export function parseCheckpointLine(line: string, entity: string): Checkpoint {
  const cp = storedCheckpoint(line, entity);
  if ((cp.format as string) !== FORMAT_1) {
    try {
      cp.state = unpackState(cp.state as unknown as PackedState);
    } catch (err) {
      throw new Error(`checkpoint of ${entity} has a malformed state: ${(err as Error).message}`);
    }
  }
  cp.format = CHECKPOINT_FORMAT;
  return cp;
}

/**
 * An entry on disk: [lamport, author (position in the authors table), seq, datagram, value], the datagram
 * named by its position in the dag list (format 2: by its CID, which format 3 also accepts).
 */
type PackedEntry = [number, number, number, number | string, Value | null];

interface PackedState {
  entity: string;
  type: EntityState['type'];
  heads: string[];
  count: number;
  /** author keys (hex), each once */
  authors: string[];
  /**
   * Every folded datagram in the order applied: [cid, lamport, author, seq, author, seq, ...] (the version
   * vector, in its key order). Format 2: an object, cid -> [lamport, author, seq, ...].
   */
  dag: (string | number)[][] | Record<string, number[]>;
  /** [author, seq, author, seq, ...] */
  authorLast: number[];
  registers: Record<string, PackedEntry[]>;
  sets: Record<string, Record<string, PackedEntry[]>>;
  maps: Record<string, Record<string, PackedEntry[]>>;
  body: PackedEntry[];
}

const mapValues = <A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> => {
  const out: Record<string, B> = {};
  for (const k of Object.keys(o)) out[k] = f(o[k]!);
  return out;
};

function packState(s: EntityState): PackedState {
  const authors: string[] = [];
  const index = new Map<string, number>();
  const ref = (hex: string): number => {
    let i = index.get(hex);
    if (i === undefined) index.set(hex, (i = authors.push(hex) - 1));
    return i;
  };
  const pushPairs = (out: (string | number)[], vv: Record<string, number>): (string | number)[] => {
    for (const hex of Object.keys(vv)) out.push(ref(hex), vv[hex]!);
    return out;
  };
  const dagAt = new Map<string, number>();
  const dag = Object.keys(s.dag).map((cid, i) => (dagAt.set(cid, i), pushPairs([cid, s.dag[cid]!.lamport], s.dag[cid]!.vv)));
  // an entry of a datagram missing from the dag (never in a state built by applying) keeps its CID
  const entry = (e: Entry): PackedEntry => [e.lamport, ref(e.author), e.seq, dagAt.get(e.id) ?? e.id, e.value];
  const entries = (list: Entry[]) => list.map(entry);
  return {
    entity: s.entity,
    type: s.type,
    heads: s.heads,
    count: s.count,
    authors,
    dag,
    authorLast: pushPairs([], s.authorLast) as number[],
    registers: mapValues(s.registers, entries),
    sets: mapValues(s.sets, (members) => mapValues(members, entries)),
    maps: mapValues(s.maps, (keys) => mapValues(keys, entries)),
    body: entries(s.body),
  };
}

/** The in-memory state, with keys in the order applying the datagrams gave them (verify compares JSON). */
function unpackState(p: PackedState): EntityState {
  if (!Array.isArray(p.authors) || !p.authors.every((a) => typeof a === 'string')) throw new Error('"authors" must be a list of keys');
  const author = (i: unknown): string => {
    const hex = typeof i === 'number' ? p.authors[i] : undefined;
    if (hex === undefined) throw new Error(`author reference ${String(i)} is not in the authors table`);
    return hex;
  };
  const vector = (flat: unknown, from: number): Record<string, number> => {
    if (!Array.isArray(flat)) throw new Error('a version vector must be a list');
    const vv: Record<string, number> = {};
    for (let i = from; i < flat.length; i += 2) vv[author(flat[i])] = Number(flat[i + 1]);
    return vv;
  };
  const object = <T>(o: unknown, what: string): Record<string, T> => {
    if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`"${what}" must be an object`);
    return o as Record<string, T>;
  };
  // format 3: a list of [cid, lamport, vector...]; format 2: an object cid -> [lamport, vector...]
  const cids: string[] = [];
  const dag: Record<string, DagNode> = {};
  const node = (cid: string, flat: unknown, from: number): void => {
    if (!Array.isArray(flat)) throw new Error('a dag node must be a list');
    if (cid === '__proto__') throw new Error('a dag node names no CID');
    cids.push(cid);
    dag[cid] = { lamport: Number(flat[from]), vv: vector(flat, from + 1) };
  };
  if (Array.isArray(p.dag)) {
    for (const n of p.dag) {
      if (!Array.isArray(n) || typeof n[0] !== 'string') throw new Error('a dag node must be [cid, lamport, author, seq, ...]');
      node(n[0], n, 1);
    }
  } else for (const [cid, n] of Object.entries(object<unknown[]>(p.dag, 'dag'))) node(cid, n, 0);
  const datagram = (d: unknown): string => {
    if (typeof d === 'string') return d;
    const cid = typeof d === 'number' ? cids[d] : undefined;
    if (cid === undefined) throw new Error(`datagram reference ${String(d)} is not in the dag`);
    return cid;
  };
  const entry = (e: unknown): Entry => {
    if (!Array.isArray(e) || e.length !== 5) throw new Error('an entry must be [lamport, author, seq, datagram, value]');
    return { lamport: e[0] as number, author: author(e[1]), seq: e[2] as number, id: datagram(e[3]), value: e[4] as Value | null };
  };
  const entries = (list: unknown): Entry[] => {
    if (!Array.isArray(list)) throw new Error('entries must be a list');
    return list.map(entry);
  };
  return {
    entity: p.entity,
    type: p.type,
    heads: p.heads,
    dag,
    authorLast: vector(p.authorLast, 0),
    registers: mapValues(object(p.registers, 'registers'), entries),
    sets: mapValues(object(p.sets, 'sets'), (m) => mapValues(object(m, 'sets'), entries)),
    maps: mapValues(object(p.maps, 'maps'), (m) => mapValues(object(m, 'maps'), entries)),
    body: entries(p.body),
    count: p.count,
  };
}

/** A deep copy of a checkpoint's state, safe to keep merging into. */
export function stateOf(cp: Checkpoint): EntityState {
  return structuredClone(cp.state);
}

export function makeCheckpoint(state: EntityState, previous: Checkpoint | undefined, folded: { t: number; a: Uint8Array; s: number }[], history: Checkpoint['history']): Checkpoint {
  let timeRange = previous?.timeRange ?? null;
  if (folded.length) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const d of folded) (lo = Math.min(lo, d.t)), (hi = Math.max(hi, d.t));
    const [l, h] = [new Date(lo).toISOString(), new Date(hi).toISOString()];
    timeRange = timeRange ? [timeRange[0] < l ? timeRange[0] : l, timeRange[1] > h ? timeRange[1] : h] : [l, h];
  }
  const seqRange: Record<string, [number, number]> = { ...(previous?.seqRange ?? {}) };
  for (const d of folded) {
    const author = peerIdOf(d.a);
    const r = seqRange[author];
    seqRange[author] = r ? [Math.min(r[0], d.s), Math.max(r[1], d.s)] : [d.s, d.s];
  }
  return {
    format: CHECKPOINT_FORMAT,
    entity: state.entity,
    folded: (previous?.folded ?? 0) + folded.length,
    timeRange,
    seqRange,
    history,
    state,
  };
}
