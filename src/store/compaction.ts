// Compaction, on disk: folds entity logs into checkpoints (the first line of each log) and moves the
// folded datagrams to the shared history segments, for a batch of entities at a time.
//
// Crash safety (kill -9 anywhere leaves each entity as before or as after, and the next run finishes):
//  1. append the batch's live datagrams to a history segment, fdatasync;  (unreferenced bytes if we stop here)
//  2. write every new checkpoint to .mesh/compaction.journal, fdatasync, rename, fsync .mesh:  the commit point
//  3. rewrite each entity log in place as its checkpoint line (padded);  (torn logs are redone from step 2)
//  4. make the rewritten logs durable (a large run: one syncfs per batch; else an fdatasync each), remove the journal.
// Opening a data root redoes step 3 from a non-empty compaction journal before anything reads a log.
// The merge state never changes: the checkpoint holds exactly the state the log gave.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, syncFilesystem, syncFiles, fsyncPath, type FilesystemSyncer } from './atomic.js';
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
   * The checkpoint's JSON as UTF-8 bytes, with a placeholder at byte `rangesAt` where its history ranges
   * go (only the committing thread knows their offsets). Bytes, not a string: a worker transfers them
   * instead of copying megabytes of strings through postMessage.
   */
  json: Uint8Array;
  rangesAt: number;
}

const RANGES_PLACEHOLDER = '__RANGES__';
/** how the placeholder appears in the checkpoint's JSON */
const RANGES_JSON = Buffer.from(JSON.stringify(RANGES_PLACEHOLDER));
const LOG_LINE_START = Buffer.from(LINE_PREFIX);
const LINE_END = Buffer.from('}\n');

/**
 * A batch's bytes, appended as each entity is folded. Writing them at once, rather than keeping each
 * entity's JSON string and blocks until the batch is packed, lets them die young: what a batch kept alive
 * was copied by every young-generation collection, and collection was the largest single cost of the fold.
 */
class BatchBytes {
  private buf: Buffer = Buffer.allocUnsafeSlow(1 << 20);
  /** buffers given back after their batch was committed (see giveBack) */
  private readonly spares: Buffer[] = [];
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + n));
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  utf8(text: string): void {
    this.reserve(text.length * 3); // the most UTF-8 bytes one UTF-16 unit takes
    this.length += this.buf.write(text, this.length);
  }

  /** Where `needle` first occurs at or after `from` (-1: nowhere). */
  indexOf(needle: Uint8Array, from: number): number {
    return this.buf.subarray(0, this.length).indexOf(needle, from);
  }

  /**
   * The bytes so far, in a buffer of their own (never from the shared pool, which cannot be transferred
   * out of a worker); empty again afterwards, in a spare buffer when one was given back.
   */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.buf = this.spares.pop() ?? Buffer.allocUnsafeSlow(this.buf.length);
    this.length = 0;
    return out;
  }

  /**
   * A buffer from an earlier take, to write the next batches into. Fresh memory costs a page fault per
   * 4 KiB on first write (about 25 ms per batch's buffer on this machine); reused memory does not.
   */
  giveBack(buffer: ArrayBuffer): void {
    if (this.spares.length < 2) this.spares.push(Buffer.from(buffer));
  }
}

/** A folded entity: where its bytes lie in its batch's bytes. */
interface Folded extends PreparedInfo {
  blocksAt: number;
  jsonAt: number;
  rangesAt: number;
  end: number;
}

/** Folds one entity's log into `out` (pure CPU and reads: safe in a worker). Undefined when there is nothing to do. */
function foldEntity(store: Store, entity: string, dropHistory: boolean, out: BatchBytes): Folded | undefined {
  const { checkpoint: cp, records, stamp } = store.readEntityLog(entity);
  const live = records.map((r) => r.env).filter((env) => !cp?.state.dag[env.id]);
  const dropNow = dropHistory && !!cp && cp.history.ranges.length > 0;
  if (live.length === 0 && records.length === 0 && !dropNow) return undefined;
  const state = store.loadState(entity, cp, records);
  const history = { ranges: RANGES_PLACEHOLDER as unknown as HistoryRange[], dropped: dropHistory || (cp?.history.dropped ?? false) };
  const next = makeCheckpoint(state, cp, live.map((e) => e.datagram), history);
  const blocksAt = out.length;
  if (!dropHistory) for (const env of live) for (const part of carBlockParts(env)) out.bytes(part);
  const jsonAt = out.length;
  out.utf8(checkpointJson(next));
  // "history" comes before "state" in the JSON, so a value holding the same text can only come later
  const rangesAt = out.indexOf(RANGES_JSON, jsonAt) - jsonAt;
  return {
    entity,
    blocksAt,
    jsonAt,
    rangesAt,
    end: out.length,
    previousRanges: dropHistory ? [] : (cp?.history.ranges ?? []),
    folded: live.length,
    total: next.folded,
    stamp,
  };
}

const batchBytes = new BatchBytes();

/** Gives a committed batch's buffer back to this thread's folding, to be written again (see BatchBytes.giveBack). */
export function reuseBatchBuffer(buffer: ArrayBuffer): void {
  batchBytes.giveBack(buffer);
}

/** The buffers prepared entities' bytes lie in (one per batch). */
export function batchBuffersOf(prepared: readonly Prepared[]): ArrayBuffer[] {
  return [...new Set(prepared.flatMap((p) => [p.blocks.buffer, p.json.buffer] as ArrayBuffer[]))].filter((b) => b.byteLength > 0);
}

/** Folds the entities' logs (pure CPU and reads: safe in a worker), skipping those with nothing to do. */
export function prepareEntities(store: Store, entities: readonly string[], dropHistory: boolean): Prepared[] {
  const folded: Folded[] = [];
  for (const entity of entities) {
    const f = foldEntity(store, entity, dropHistory, batchBytes);
    if (f) folded.push(f);
  }
  // one buffer for the batch: allocating one per entity cost more than the copying, and it is one transfer
  const buf = batchBytes.take();
  return folded.map((f) => ({
    entity: f.entity,
    previousRanges: f.previousRanges,
    folded: f.folded,
    total: f.total,
    stamp: f.stamp,
    blocks: buf.subarray(f.blocksAt, f.jsonAt),
    json: buf.subarray(f.jsonAt, f.end),
    rangesAt: f.rangesAt,
  }));
}

/**
 * Commits prepared entities (inside a store transaction): history append, compaction journal, in-place
 * log rewrites, sync (one syncfs through `syncer` when given, else an fdatasync per log). Every record of
 * these logs is folded (the root lock keeps writers out), so each log becomes its checkpoint line.
 */
export async function commitPrepared(store: Store, preparedEarlier: readonly Prepared[], dropHistory = false, syncer?: FilesystemSyncer): Promise<CompactResult[]> {
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
    const json = [p.json.subarray(0, p.rangesAt), Buffer.from(JSON.stringify(ranges)), p.json.subarray(p.rangesAt + RANGES_JSON.length), LINE_END];
    journalParts.push(Buffer.from(`{"entity":${JSON.stringify(p.entity)},"checkpoint":`), ...json);
    logLines.push([p.entity, [LOG_LINE_START, ...json]]);
  }
  store.history.write(tail, parts);
  const journal = store.layout.compactionJournal;
  writeFileAtomic(journal, journalParts);
  fsyncPath(path.dirname(journal)); // the journal's name is durable before any log is touched
  const logs = logLines.map(([entity]) => store.layout.entityLog(entity));
  logLines.forEach(([, line], i) => padInPlace(logs[i]!, line));
  // a syncer that fails (no working `sync -f` here, say) falls back to flushing each log, which reports
  // a real I/O error on its own
  await (syncer ? syncer.sync().catch(() => syncFiles(logs)) : syncFiles(logs));
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

  /** Gives the buffers of committed entities back to the workers, which write later batches into them. */
  recycle(prepared: readonly Prepared[]): void {
    batchBuffersOf(prepared).forEach((buffer, i) => {
      const w = this.workers[i % this.workers.length]!;
      w.postMessage({ recycle: buffer }, [buffer]);
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
