// Checkpoints: an entity's merged state with the metadata needed to keep merging (register entries with
// their stamps, set add entries, the causal metadata of every folded datagram), the heads it covers, and
// what it folded. Stored as the first line of the entity's log, `{"checkpoint": {...}}`, so compaction
// rewrites one existing file instead of creating files (`head -1 mesh.log | jq` shows it).
import { peerIdOf } from '../datagram/author.js';
import type { EntityState } from '../merge/state.js';
import type { HistoryRange } from './history.js';

export const CHECKPOINT_FORMAT = 'cocli-mesh checkpoint 1';
const LINE_PREFIX = '{"checkpoint":';

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

export function checkpointLine(cp: Checkpoint): string {
  return JSON.stringify({ checkpoint: cp }) + '\n';
}

/** Parses a checkpoint line; throws naming what is wrong. */
export function parseCheckpointLine(line: string, entity: string): Checkpoint {
  let cp: Checkpoint;
  try {
    cp = (JSON.parse(line) as { checkpoint: Checkpoint }).checkpoint;
  } catch (err) {
    throw new Error(`checkpoint is not valid JSON (${(err as Error).message})`);
  }
  if (cp?.format !== CHECKPOINT_FORMAT || cp.entity !== entity || typeof cp.state?.dag !== 'object' || !Array.isArray(cp.history?.ranges)) {
    throw new Error(`not a checkpoint of ${entity}`);
  }
  return cp;
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
