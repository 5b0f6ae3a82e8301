// Checkpoints: an entity's merged state with the metadata needed to keep merging (register entries with
// their stamps, set add entries, the causal metadata of every folded datagram), the heads it covers, and
// what it folded. Stored as pretty JSON in `updates/mesh.checkpoint.json`, beside the live log.
import fs from 'node:fs';
import path from 'node:path';
import { peerIdOf } from '../datagram/author.js';
import type { EntityState } from '../merge/state.js';
import { readIfExists } from './atomic.js';

export const CHECKPOINT_FORMAT = 'cocli-mesh checkpoint 1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  entity: string;
  /** datagrams folded in, in total */
  folded: number;
  /** wall-clock range of the folded datagrams (for people; never used for ordering) */
  timeRange: [string, string] | null;
  /** per author PeerID: the lowest and highest sequence number folded */
  seqRange: Record<string, [number, number]>;
  history: { file: string; bytes: number; dropped: boolean };
  /** the merged state; `state.dag` lists every folded CID with its Lamport number and version vector */
  state: EntityState;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function readCheckpoint(file: string, entity: string): Checkpoint | undefined {
  const text = readIfExists(file);
  if (text === undefined) return undefined;
  let cp: Checkpoint;
  try {
    cp = JSON.parse(text) as Checkpoint;
  } catch (err) {
    throw new CheckpointError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (cp?.format !== CHECKPOINT_FORMAT || cp.entity !== entity || typeof cp.state?.dag !== 'object' || typeof cp.history?.bytes !== 'number') {
    throw new CheckpointError(`${file}: not a checkpoint of ${entity}`);
  }
  return cp;
}

/** A deep copy of a checkpoint's state, safe to keep merging into. */
export function stateOf(cp: Checkpoint): EntityState {
  return structuredClone(cp.state);
}

export function makeCheckpoint(state: EntityState, previous: Checkpoint | undefined, folded: { t: number; a: Uint8Array; s: number }[], history: Checkpoint['history']): Checkpoint {
  const times = folded.map((d) => d.t);
  let timeRange = previous?.timeRange ?? null;
  if (times.length) {
    const lo = new Date(Math.min(...times)).toISOString();
    const hi = new Date(Math.max(...times)).toISOString();
    timeRange = timeRange ? [timeRange[0] < lo ? timeRange[0] : lo, timeRange[1] > hi ? timeRange[1] : hi] : [lo, hi];
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

/**
 * Writes a checkpoint to a temporary file beside `file` (not yet in place); returns its path. The name is
 * fixed (compaction holds the root lock), so a temporary file a killed run left is simply overwritten.
 */
export function writeCheckpointTemp(file: string, cp: Checkpoint): string {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(cp, null, 1) + '\n');
  return tmp;
}
