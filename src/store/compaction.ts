// Compaction, on disk: folds entity logs into checkpoints (the first line of each log) and moves the
// folded datagrams to the shared history segments, for a batch of entities at a time.
//
// Crash safety (kill -9 anywhere leaves each entity as before or as after, and the next run finishes):
//  1. append the batch's live datagrams to a history segment, fdatasync;  (unreferenced bytes if we stop here)
//  2. write every new checkpoint to .mesh/compaction.journal, fdatasync, rename, fsync .mesh:  the commit point
//  3. rewrite each entity log in place as its checkpoint line (padded);  (torn logs are redone from step 2)
//  4. fdatasync each rewritten log, then remove the compaction journal.
// Opening a data root redoes step 3 from a non-empty compaction journal before anything reads a log.
// The merge state never changes: the checkpoint holds exactly the state the log gave.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, syncFilesystem, syncFiles, fsyncPath } from './atomic.js';
import { checkpointJson, checkpointLine, isCheckpointLine, LINE_PREFIX, makeCheckpoint, parseCheckpointLine, type Checkpoint } from './checkpoint.js';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { CAR_HEADER, carBlockParts, type HistoryRange } from './history.js';
import { readRecord } from './records.js';
import { padInPlace, readLines, statStamp } from './lines.js';
import type { Store } from './store.js';

export interface CompactResult {
  entity: string;
  /** datagrams folded by this run */
  folded: number;
  /** datagrams the checkpoint covers in total */
  total: number;
}

/** The log an entity should have under checkpoint `cp`: its line, then any readable record it does not cover. */
function logUnder(store: Store, entity: string, cp: Checkpoint): string {
  let text = checkpointLine(cp);
  for (const line of readLines(store.layout.entityLog(entity)).lines) {
    if (isCheckpointLine(line)) continue;
    try {
      const env = readRecord(line);
      if (!cp.state.dag[env.id]) text += line + '\n';
    } catch {
      // a line torn by an interrupted in-place rewrite; the records it held are folded into cp
    }
  }
  return text;
}

/** What every prepared entity carries besides its bytes. */
interface PreparedInfo {
  entity: string;
  /** history ranges before this run */
  previousRanges: HistoryRange[];
  folded: number;
  total: number;
  /** the log's size and mtime when it was read: a log changed since must be prepared again */
  stamp: string;
}

/** One entity folded and ready to commit: its history blocks and its checkpoint without its history ranges. */
export interface Prepared extends PreparedInfo {
  /** CAR blocks of the newly folded datagrams (empty when none, or when history is dropped) */
  blocks: Uint8Array;
  /**
   * The checkpoint's JSON as UTF-8 bytes, without its history ranges, which go in at byte `rangesAt`
   * (only the committing thread knows their offsets). Bytes, not a string: a worker transfers them
   * instead of copying megabytes of strings through postMessage.
   */
  json: Uint8Array;
  rangesAt: number;
}

/** An entity folded, before its bytes are packed (see packFolded). */
interface Folded extends PreparedInfo {
  blockParts: Uint8Array[];
  /** the checkpoint's JSON before and after its history ranges */
  jsonHead: string;
  jsonTail: string;
}

const RANGES_PLACEHOLDER = '__RANGES__';
/** how the placeholder appears in the checkpoint's JSON */
const RANGES_JSON = JSON.stringify(RANGES_PLACEHOLDER);
const LOG_LINE_START = Buffer.from(LINE_PREFIX);
const LINE_END = Buffer.from('}\n');

/** Folds one entity's log (pure CPU and reads: safe in a worker). Undefined when there is nothing to do. */
function foldEntity(store: Store, entity: string, dropHistory: boolean): Folded | undefined {
  const { checkpoint: cp, records, stamp } = store.readEntityLog(entity);
  const live = records.map((r) => r.env).filter((env) => !cp?.state.dag[env.id]);
  const dropNow = dropHistory && !!cp && cp.history.ranges.length > 0;
  if (live.length === 0 && records.length === 0 && !dropNow) return undefined;
  const state = store.loadState(entity, cp, records);
  const history = { ranges: RANGES_PLACEHOLDER as unknown as HistoryRange[], dropped: dropHistory || (cp?.history.dropped ?? false) };
  const next = makeCheckpoint(state, cp, live.map((e) => e.datagram), history);
  const json = checkpointJson(next);
  const at = json.indexOf(RANGES_JSON);
  return {
    entity,
    blockParts: dropHistory ? [] : carBlockParts(live),
    jsonHead: json.slice(0, at),
    jsonTail: json.slice(at + RANGES_JSON.length),
    previousRanges: dropHistory ? [] : (cp?.history.ranges ?? []),
    folded: live.length,
    total: next.folded,
    stamp,
  };
}

/**
 * The bytes of folded entities, all in one buffer of their own: allocating a buffer per entity cost more
 * than the copying, and one buffer is one transfer out of a worker.
 */
function packFolded(folded: readonly Folded[]): Prepared[] {
  let size = 0;
  for (const f of folded) {
    for (const part of f.blockParts) size += part.length;
    size += Buffer.byteLength(f.jsonHead) + Buffer.byteLength(f.jsonTail);
  }
  const buf = Buffer.allocUnsafeSlow(size); // never from the shared pool, which cannot be transferred
  let at = 0;
  return folded.map((f) => {
    const blocksStart = at;
    for (const part of f.blockParts) buf.set(part, at), (at += part.length);
    const jsonStart = at;
    at += buf.write(f.jsonHead, at);
    const rangesAt = at - jsonStart;
    at += buf.write(f.jsonTail, at);
    const { entity, previousRanges, folded, total, stamp } = f;
    return { entity, previousRanges, folded, total, stamp, blocks: buf.subarray(blocksStart, jsonStart), json: buf.subarray(jsonStart, at), rangesAt };
  });
}

/** Folds the entities' logs (pure CPU and reads: safe in a worker), skipping those with nothing to do. */
export function prepareEntities(store: Store, entities: readonly string[], dropHistory: boolean): Prepared[] {
  const folded: Folded[] = [];
  for (const entity of entities) {
    const f = foldEntity(store, entity, dropHistory);
    if (f) folded.push(f);
  }
  return packFolded(folded);
}

/**
 * Commits prepared entities (inside a store transaction): history append, compaction journal, in-place
 * log rewrites, sync. Every record of these logs is folded (the root lock keeps writers out), so each log
 * becomes its checkpoint line.
 */
export async function commitPrepared(store: Store, preparedEarlier: readonly Prepared[], dropHistory = false): Promise<CompactResult[]> {
  // prepared outside the lock (pipelined): anything written since is folded again, here, under the lock
  const changed = new Set(preparedEarlier.filter((p) => statStamp(store.layout.entityLog(p.entity)) !== p.stamp).map((p) => p.entity));
  const again = new Map(prepareEntities(store, [...changed], dropHistory).map((p) => [p.entity, p]));
  const prepared = preparedEarlier.flatMap((p) => (changed.has(p.entity) ? (again.get(p.entity) ?? []) : [p]));
  if (prepared.length === 0) return [];
  const tail = store.history.tail();
  const parts: Uint8Array[] = [];
  let offset = tail.size;
  if (tail.size === 0) parts.push(CAR_HEADER), (offset += CAR_HEADER.length);
  const journalParts: Uint8Array[] = [];
  const logLines: [string, Uint8Array[]][] = [];
  for (const p of prepared) {
    const ranges = [...p.previousRanges];
    if (p.blocks.length) {
      ranges.push([tail.segment, offset, p.blocks.length]);
      parts.push(p.blocks);
      offset += p.blocks.length;
    }
    // the checkpoint's JSON in three pieces, written gathered: its bytes are never copied into one
    const json = [p.json.subarray(0, p.rangesAt), Buffer.from(JSON.stringify(ranges)), p.json.subarray(p.rangesAt), LINE_END];
    journalParts.push(Buffer.from(`{"entity":${JSON.stringify(p.entity)},"checkpoint":`), ...json);
    logLines.push([p.entity, [LOG_LINE_START, ...json]]);
  }
  store.history.write(tail, parts);
  const journal = store.layout.compactionJournal;
  writeFileAtomic(journal, journalParts);
  fsyncPath(path.dirname(journal)); // the journal's name is durable before any log is touched
  const logs = logLines.map(([entity]) => store.layout.entityLog(entity));
  logLines.forEach(([, line], i) => padInPlace(logs[i]!, line));
  await syncFiles(logs);
  fs.rmSync(journal, { force: true });
  return prepared.map((p) => ({ entity: p.entity, folded: p.folded, total: p.total }));
}

/** Compacts a batch of entities in this thread (inside a store transaction). */
export function compactBatch(store: Store, entities: readonly string[], opts: { dropHistory?: boolean } = {}): Promise<CompactResult[]> {
  return commitPrepared(store, prepareEntities(store, entities, !!opts.dropHistory), !!opts.dropHistory);
}

/** Worker threads that prepare entities in parallel; for large compactions. */
export class CompactionPool {
  private readonly workers: Worker[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (p: Prepared[]) => void; reject: (e: Error) => void }>();

  constructor(root: string, size = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    const file = new URL('./compaction-worker.js', import.meta.url);
    this.workers = Array.from({ length: size }, () => {
      // a bounded heap keeps each worker's memory near its working set (one batch share)
      const w = new Worker(file, { workerData: { root }, resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 } });
      w.on('message', (m: { id: number; prepared: Prepared[]; error?: string }) => {
        const waiter = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error) waiter?.reject(new Error(m.error));
        else waiter?.resolve(m.prepared);
      });
      w.on('error', (err) => {
        for (const waiter of this.waiting.values()) waiter.reject(err);
        this.waiting.clear();
      });
      return w;
    });
  }

  /** Prepares the entities, split across the workers, keeping their order. */
  async prepare(entities: readonly string[], dropHistory: boolean): Promise<Prepared[]> {
    const share = Math.ceil(entities.length / this.workers.length);
    const jobs = this.workers.map((w, i) => {
      const slice = entities.slice(i * share, (i + 1) * share);
      if (slice.length === 0) return Promise.resolve([] as Prepared[]);
      const id = ++this.next;
      return new Promise<Prepared[]>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        w.postMessage({ id, entities: slice, dropHistory });
      });
    });
    return (await Promise.all(jobs)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Finishes a compaction that was killed after its commit point; returns the entities it rewrote. */
export function recoverCompaction(store: Store): string[] {
  const journal = store.layout.compactionJournal;
  if (!fs.existsSync(journal)) return []; // the common case, checked without the cost of a failed open
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
    padInPlace(store.layout.entityLog(entry.entity), logUnder(store, entry.entity, cp));
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
  const from = marker && marker.generation === index.generation && marker.position <= index.size ? marker.position : 0;
  const entities = new Set<string>();
  for (let pos = from; pos < index.size; pos++) entities.add(index.entityAt(pos));
  return { entities: [...entities].sort(), position: index.size };
}

export function saveCompactionMarker(store: Store, position: number): void {
  writeFileAtomic(store.layout.compactionMarker, JSON.stringify({ generation: store.index.generation, position }) + '\n', { fsync: false });
}
