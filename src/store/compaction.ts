// Compaction, on disk: folds entity logs into checkpoints (the first line of each log) and moves the
// folded datagrams to the shared history segments, for a batch of entities at a time.
//
// Crash safety (kill -9 anywhere leaves each entity as before or as after, and the next run finishes):
//  1. append the batch's live datagrams to a history segment, fdatasync;  (unreferenced bytes if we stop here)
//  2. write every new checkpoint to .mesh/compaction.journal, fdatasync:  the commit point
//  3. rewrite each entity log in place as its checkpoint line;           (torn logs are redone from step 2)
//  4. syncfs, then empty the compaction journal.
// Opening a data root redoes step 3 from a non-empty compaction journal before anything reads a log.
// The merge state never changes: the checkpoint holds exactly the state the log gave.
import fs from 'node:fs';
import { writeFileAtomic, syncFilesystem } from './atomic.js';
import { checkpointLine, isCheckpointLine, makeCheckpoint, parseCheckpointLine, type Checkpoint } from './checkpoint.js';
import { parseRecord } from './records.js';
import { readLines } from './lines.js';
import type { Store } from './store.js';

export interface CompactResult {
  entity: string;
  /** datagrams folded by this run */
  folded: number;
  /** datagrams the checkpoint covers in total */
  total: number;
}

/** Rewrites a file in place (no new file is created): write from the start, then cut what is left over. */
function rewriteInPlace(file: string, text: string): void {
  const data = Buffer.from(text, 'utf8');
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
  try {
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written, written);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** The log an entity should have under checkpoint `cp`: its line, then any readable record it does not cover. */
function logUnder(store: Store, entity: string, cp: Checkpoint): string {
  let text = checkpointLine(cp);
  for (const line of readLines(store.layout.entityLog(entity)).lines) {
    if (isCheckpointLine(line)) continue;
    try {
      const { env } = parseRecord(line, { trusted: true });
      if (!cp.state.dag[env.id]) text += line + '\n';
    } catch {
      // a line torn by an interrupted in-place rewrite; the records it held are folded into cp
    }
  }
  return text;
}

/** Compacts a batch of entities (inside a store transaction). Entities with nothing to fold are skipped. */
export function compactBatch(store: Store, entities: readonly string[], opts: { dropHistory?: boolean } = {}): CompactResult[] {
  const work = [];
  for (const entity of entities) {
    const { checkpoint: cp, records } = store.readEntityLog(entity);
    const live = records.map((r) => r.env).filter((env) => !cp?.state.dag[env.id]);
    const dropNow = !!opts.dropHistory && !!cp && cp.history.ranges.length > 0;
    if (live.length === 0 && records.length === 0 && !dropNow) continue;
    work.push({ entity, cp, live, state: store.loadState(entity, cp, records) });
  }
  if (work.length === 0) return [];

  const withLive = work.filter((w) => w.live.length > 0);
  const ranges = opts.dropHistory || withLive.length === 0 ? [] : store.history.append(withLive.map((w) => w.live));
  const next = work.map((w) => {
    const i = withLive.indexOf(w);
    const history: Checkpoint['history'] = opts.dropHistory
      ? { ranges: [], dropped: true }
      : { ranges: [...(w.cp?.history.ranges ?? []), ...(i >= 0 ? [ranges[i]!] : [])], dropped: w.cp?.history.dropped ?? false };
    return makeCheckpoint(w.state, w.cp, w.live.map((e) => e.datagram), history);
  });

  const journal = store.layout.compactionJournal;
  writeFileAtomic(journal, next.map((cp) => JSON.stringify({ entity: cp.entity, checkpoint: cp }) + '\n').join(''));
  for (const cp of next) rewriteInPlace(store.layout.entityLog(cp.entity), logUnder(store, cp.entity, cp));
  syncFilesystem(store.layout.mesh);
  fs.rmSync(journal, { force: true });
  return work.map((w, i) => ({ entity: w.entity, folded: w.live.length, total: next[i]!.folded }));
}

/** Finishes a compaction that was killed after its commit point; returns the entities it rewrote. */
export function recoverCompaction(store: Store): string[] {
  const journal = store.layout.compactionJournal;
  const { lines } = readLines(journal);
  const done: string[] = [];
  for (const line of lines) {
    let entry: { entity: string; checkpoint: unknown };
    try {
      entry = JSON.parse(line) as { entity: string; checkpoint: unknown };
    } catch {
      continue;
    }
    const cp = parseCheckpointLine(JSON.stringify({ checkpoint: entry.checkpoint }), entry.entity);
    rewriteInPlace(store.layout.entityLog(entry.entity), logUnder(store, entry.entity, cp));
    done.push(entry.entity);
  }
  if (fs.existsSync(journal)) {
    syncFilesystem(store.layout.mesh);
    fs.rmSync(journal, { force: true });
  }
  return done;
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
  const { checkpoint: cp, records } = store.readEntityLog(entity);
  const live = records.filter((r) => !cp?.state.dag[r.env.id]);
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
