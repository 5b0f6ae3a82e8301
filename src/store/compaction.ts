// Compaction, on disk: folds an entity's live log into its checkpoint and moves the folded datagrams
// to its history file, for a batch of entities with two file-system syncs for the whole batch.
//
// Crash safety, step by step (kill -9 anywhere leaves each entity as before or as after):
//  1. append the live datagrams to the history file past its valid length, write the new checkpoint to
//     a temporary file;                     a crash here: the old checkpoint still rules, extra bytes ignored
//  2. sync; rename each checkpoint in place; a crash here: each entity has the old or the new checkpoint,
//                                            and live records a new checkpoint covers are skipped on load
//  3. sync; empty the live logs (and, with --drop-history, delete the history files).
// The merge state never changes: the checkpoint holds exactly the state the live log gave.
import fs from 'node:fs';
import { syncFilesystem, writeFileAtomic } from './atomic.js';
import { makeCheckpoint, writeCheckpointTemp, type Checkpoint } from './checkpoint.js';
import { appendHistory } from './history.js';
import { HISTORY } from './paths.js';
import type { Store } from './store.js';

export interface CompactResult {
  entity: string;
  /** datagrams folded by this run */
  folded: number;
  /** datagrams the checkpoint covers in total */
  total: number;
  historyBytes: number;
}

interface Work {
  entity: string;
  tmp: string;
  final: string;
  dropHistoryFile: boolean;
  result: CompactResult;
}

/** Compacts a batch of entities (inside a store transaction). Entities with nothing to fold are skipped. */
export function compactBatch(store: Store, entities: readonly string[], opts: { dropHistory?: boolean } = {}): CompactResult[] {
  const work: Work[] = [];
  for (const entity of entities) {
    const cp = store.checkpointOf(entity);
    const records = store.readLog(entity);
    const live = records.map((r) => r.env).filter((env) => !cp?.state.dag[env.id]);
    const dropNow = !!opts.dropHistory && !!cp && cp.history.bytes > 0;
    if (live.length === 0 && records.length === 0 && !dropNow) continue;
    const state = store.loadState(entity, cp, records);
    let history: Checkpoint['history'] = cp?.history ?? { file: HISTORY, bytes: 0, dropped: false };
    if (opts.dropHistory) history = { file: HISTORY, bytes: 0, dropped: true };
    else if (live.length) history = { ...history, bytes: appendHistory(store.layout.history(entity), history.bytes, live) };
    const next = makeCheckpoint(state, cp, live.map((e) => e.datagram), history);
    const final = store.layout.checkpoint(entity);
    work.push({
      entity,
      tmp: writeCheckpointTemp(final, next),
      final,
      dropHistoryFile: !!opts.dropHistory,
      result: { entity, folded: live.length, total: next.folded, historyBytes: history.bytes },
    });
  }
  if (work.length === 0) return [];
  syncFilesystem(store.layout.mesh);
  for (const w of work) fs.renameSync(w.tmp, w.final);
  syncFilesystem(store.layout.mesh);
  for (const w of work) {
    const log = store.layout.entityLog(w.entity);
    if (fs.existsSync(log)) fs.truncateSync(log, 0);
    if (w.dropHistoryFile) fs.rmSync(store.layout.history(w.entity), { force: true });
  }
  return work.map((w) => w.result);
}

export interface CompactionPolicy {
  /** compact an entity once its live log holds this many datagrams */
  maxLiveDatagrams: number;
  /** or once its oldest live datagram is this old */
  maxAgeHours: number;
}

export const DEFAULT_POLICY: CompactionPolicy = { maxLiveDatagrams: 100, maxAgeHours: 168 };

/** Whether the policy says an entity is due (its live log is long or old enough). */
export function dueForCompaction(store: Store, entity: string, policy: CompactionPolicy, now: number): boolean {
  const live = store.readLog(entity);
  if (live.length === 0) return false;
  if (live.length >= policy.maxLiveDatagrams) return true;
  const oldest = Math.min(...live.map((r) => r.env.datagram.t));
  return now - oldest >= policy.maxAgeHours * 3_600_000;
}

interface Marker {
  generation: string;
  position: number;
}

/**
 * Entities that may have unfolded datagrams: those the index saw datagrams for since the last complete
 * compaction (all of them when there was none, or the index was rebuilt since). Cost follows the changes.
 */
export function compactionCandidates(store: Store): { entities: string[]; position: number } {
  const index = store.index;
  let marker: Marker | undefined;
  try {
    marker = JSON.parse(fs.readFileSync(store.layout.compactionMarker, 'utf8')) as Marker;
  } catch {
    marker = undefined;
  }
  const ordered = index.ordered();
  const from = marker && marker.generation === index.generation && marker.position <= ordered.length ? marker.position : 0;
  const entities = new Set<string>();
  for (let i = from; i < ordered.length; i++) entities.add(index.get(ordered[i]!)!.entity);
  return { entities: [...entities].sort(), position: ordered.length };
}

export function saveCompactionMarker(store: Store, position: number): void {
  writeFileAtomic(store.layout.compactionMarker, JSON.stringify({ generation: store.index.generation, position }) + '\n', { fsync: false });
}
