// The data root on disk: entity logs, the journal that makes writes durable with one fsync per batch,
// the index, and the cache of merged entity states. All writes happen inside `transaction`, which
// holds the root lock and first catches up with what other processes wrote.
//
// Write path: stage (apply in memory, checks causality) -> persist: journal append + fdatasync
// (the durability point), then entity logs and index (no fsync; the journal replays them after a crash).
import fs from 'node:fs';
import type { CID } from 'multiformats/cid';
import path from 'node:path';
import { peerIdOf, authorHex } from '../datagram/author.js';
import type { Envelope } from '../datagram/types.js';
import { InvalidDatagramError } from '../datagram/errors.js';
import { rememberCid } from '../datagram/cid-cache.js';
import { applyDatagram, emptyState, type EntityState } from '../merge/state.js';
import { PendingSet, cidDependency, seqDependency } from '../clock/pending.js';
import { dominates, mergeVectors } from '../clock/vv.js';
import { appendLines, readLines, type LinesText } from './lines.js';
import { rawOfRecord, readRecord, recordBytes, recordCid, recordLine, type RawDatagram } from './records.js';
import { GenerationalLog } from './genlog.js';
import { DatagramIndex, type IndexEntry } from './index-file.js';
import { RootLock } from './lock.js';
import { Layout } from './paths.js';
import { FilesystemSyncer, syncFilesystem } from './atomic.js';
import { checkpointHistory, isCheckpointLine, parseCheckpointLine, stateOf, type Checkpoint } from './checkpoint.js';
import { HistorySegments } from './history.js';
import { recoverCompaction } from './compaction.js';
import { RenderMarks } from './render-marks.js';
import { checkedThisBoot, markCheckedThisBoot } from './boot.js';

const MAX_CACHED_STATES = 20_000;
/** index lines read at once past which a fresh snapshot is saved */
const SNAPSHOT_AFTER = 50_000;
const JOURNAL_LIMIT = 32 * 1024 * 1024; // bounds start-up replay work

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface LogRecord {
  env: Envelope;
  /** its line number in the log (for messages) */
  line: number;
}

export class Store {
  readonly layout: Layout;
  private loadedIndex?: DatagramIndex;
  /**
   * The datagram index, loaded on first use: a process that only reads entity logs (a compaction worker
   * thread) never pays for loading it, in time or in memory.
   */
  get index(): DatagramIndex {
    if (!this.loadedIndex) {
      this.loadedIndex = new DatagramIndex(this.layout.index);
      this.loadedIndex.loadSnapshot(this.layout.indexSnapshot);
    }
    return this.loadedIndex;
  }
  readonly marks: RenderMarks;
  readonly history: HistorySegments;
  private readonly journal: GenerationalLog;
  private readonly lock: RootLock;
  private readonly states = new Map<string, EntityState>();
  private staged: Envelope[] = [];
  /** entities whose folder prepareNewEntities made or is making, until removeUnused looks at them */
  private readonly preparing = new Map<string, Promise<void>>();
  private inTransaction = false;
  /** whether the whole journal has been checked in this boot of the machine (see replayJournal) */
  private journalCheckedThisBoot?: boolean;
  /** Datagrams other processes sharing the root applied since this process last caught up (drained by the caller). */
  readonly foreign: IndexEntry[] = [];
  private caughtUp = false;
  /** Problems met while catching up (a damaged entity log), for the caller to report. */
  readonly problems: string[] = [];
  /** Entities whose datagrams changed since they were last rendered. */
  readonly dirty = new Set<string>();
  /** Called before the journal is truncated, so derived files are brought up to date first. */
  beforeJournalTruncate?: () => void;
  /** flushes the file system when the journal is emptied; null once it failed or where there is none */
  private syncer?: FilesystemSyncer | null;

  constructor(root: string, private readonly journalLimit = JOURNAL_LIMIT) {
    this.layout = new Layout(root);
    if (!fs.existsSync(this.layout.mesh)) throw new StoreError(`${root} has no .mesh folder: run "cocli-mesh init" first`);
    this.marks = new RenderMarks(this.layout.renderMarks);
    this.history = new HistorySegments(this.layout.historyDir);
    this.journal = new GenerationalLog(this.layout.journal);
    this.lock = new RootLock(this.layout.mesh);
  }

  /**
   * Keeps the root lock for this long after each transaction (0: release at once). For a long-running
   * node that never blocks on another process: see lock.ts.
   */
  setLockLease(ms: number): void {
    this.lock.setLease(ms);
  }

  /** Runs fn holding the root lock, after catching up with other processes and replaying a crashed journal. */
  transaction<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.inTransaction = true;
      try {
        this.catchUp();
        const out = await fn();
        await this.persistDurable();
        if (this.journal.size() > this.journalLimit) await this.truncateJournal();
        return out;
      } catch (err) {
        this.discardStaged();
        throw err;
      } finally {
        this.inTransaction = false;
      }
    });
  }

  private catchUp(): void {
    if (!this.index.exists()) this.rebuildIndex();
    const before = this.index.size;
    const touched = this.index.refresh();
    if (this.index.size - before > SNAPSHOT_AFTER) this.saveIndexSnapshot();
    if (touched === 'reset') this.states.clear();
    else for (const e of touched) this.states.delete(e);
    // what other processes applied since this one last looked (not on the first look: that is history)
    if (this.caughtUp && touched !== 'reset') for (let pos = before; pos < this.index.size; pos++) this.foreign.push(this.index.entryAt(pos));
    this.caughtUp = true;
    this.marks.refresh();
    for (const e of recoverCompaction(this)) this.states.delete(e); // before anything reads an entity log
    this.replayJournal();
  }

  /**
   * Applies journal records that never reached their entity log or the index (a writer crashed).
   * A writer appends to the entity log before the index, so while the machine has not restarted since
   * (the page cache holds every write), a record the index has is in its entity log too, and only
   * records the index lacks need a look. After a restart (a power cut may have lost either), the first
   * opener checks every record against the entity's own log and then marks the journal checked for this boot.
   */
  private replayJournal(): void {
    const { lines, reset } = this.journal.readNew();
    if (lines.length === 0) return; // nothing to check: the marker is not even read
    this.journalCheckedThisBoot ??= checkedThisBoot(this.layout.journalChecked, this.layout.journal);
    const quick = this.journalCheckedThisBoot;
    const problemsBefore = this.problems.length;
    let replayed = 0;
    for (const line of lines) {
      if (quick) {
        const id = recordCid(line);
        if (id !== undefined && this.index.has(id)) continue;
      }
      let env: Envelope;
      try {
        env = readRecord(line);
      } catch {
        continue; // the journal's torn tail is already skipped; anything else unreadable was never acknowledged
      }
      // Without an fsync per entity log, the index may survive a power cut that the entity log did not:
      // check the entity's own log, not just the index.
      try {
        const state = this.state(env.datagram.e);
        if (!state.dag[env.id]) {
          applyDatagram(state, env);
          this.appendEntityLog(env.datagram.e, recordLine(env));
          this.dirty.add(env.datagram.e);
          replayed++;
        }
      } catch (err) {
        // a damaged entity log must not stop the root from opening: verify names the damage
        this.states.delete(env.datagram.e);
        this.problems.push(`${env.datagram.e}: ${(err as Error).message}`);
        continue;
      }
      if (!this.index.has(env.cid)) {
        this.index.stage(this.indexEntry(env));
        replayed++;
      }
    }
    if (replayed) this.index.persist();
    // Only a pass over the whole journal (read from its start) without problems may say it was checked:
    // a damaged entity log keeps being reported, and the journal checked, until it is repaired.
    if (!quick && reset && this.problems.length === problemsBefore) {
      markCheckedThisBoot(this.layout.journalChecked, this.layout.journal);
      this.journalCheckedThisBoot = true;
    }
  }

  private indexEntry(env: Envelope): IndexEntry {
    return { id: env.id, author: peerIdOf(env.datagram.a), seq: env.datagram.s, entity: env.datagram.e };
  }

  /** The merged state of an entity, loaded from its log on first use. */
  state(entity: string): EntityState {
    let st = this.states.get(entity);
    if (st) {
      this.states.delete(entity);
      this.states.set(entity, st); // most recently used last
      return st;
    }
    const log = this.readEntityLog(entity);
    st = this.loadState(entity, log.checkpoint, log.records);
    this.states.set(entity, st);
    if (this.states.size > MAX_CACHED_STATES) {
      const oldest = this.states.keys().next().value as string;
      if (!this.staged.some((e) => e.datagram.e === oldest)) this.states.delete(oldest);
    }
    return st;
  }

  /**
   * The state an entity had when its heads were `heads` (the datagrams in their causal past). Where
   * compaction dropped the history, the checkpoint stands in for everything it folded.
   */
  viewAt(entity: string, heads: readonly string[]): EntityState {
    if (heads.length === 0) return emptyState(entity);
    const state = this.state(entity);
    const vv = mergeVectors(heads.map((h) => state.dag[h]?.vv ?? {}));
    const log = this.readEntityLog(entity);
    const past = log.checkpoint?.history.dropped ? stateOf(log.checkpoint) : emptyState(entity);
    for (const env of this.allDatagrams(entity, log)) {
      if (!past.dag[env.id] && dominates(vv, authorHex(env.datagram.a), env.datagram.s)) applyDatagram(past, env);
    }
    return past;
  }

  /** The entity's checkpoint, if compaction has run on it. */
  checkpointOf(entity: string): Checkpoint | undefined {
    return this.readEntityLog(entity).checkpoint;
  }

  /** Folded datagrams kept in the history segments (empty when none or dropped). */
  historyOf(entity: string, cp = this.checkpointOf(entity), opts: { strict?: boolean } = {}): Envelope[] {
    if (!cp || cp.history.ranges.length === 0) return [];
    try {
      return this.history.read(cp.history.ranges, { trusted: !opts.strict });
    } catch (err) {
      throw new StoreError(`history of ${entity}: ${(err as Error).message}`);
    }
  }

  /** Every datagram of the entity still on disk, history first, then the live log, without repeats. */
  allDatagrams(entity: string, log = this.readEntityLog(entity)): Envelope[] {
    const { checkpoint, records } = log;
    const out = this.historyOf(entity, checkpoint);
    const seen = new Set(out.map((e) => e.id));
    for (const { env } of records) if (!seen.has(env.id)) seen.add(env.id), out.push(env);
    return out;
  }

  /** Folds an entity's live records over its checkpoint (without caching the result). */
  loadState(entity: string, cp: Checkpoint | undefined, live: readonly LogRecord[]): EntityState {
    const cached = this.states.get(entity);
    if (cached) return cached;
    const st = cp ? stateOf(cp) : emptyState(entity);
    for (const { env, line } of live) {
      if (st.dag[env.id]) continue; // folded by a compaction that stopped before emptying the live log
      try {
        applyDatagram(st, env);
      } catch (err) {
        throw new StoreError(`${this.layout.entityLog(entity)}:${line}: ${(err as Error).message}`);
      }
    }
    return st;
  }

  /** An entity's log: its checkpoint (first line, after compaction) and live records; a torn final record is skipped. */
  readEntityLog(entity: string): { checkpoint?: Checkpoint; records: LogRecord[]; stamp: string } {
    const records: LogRecord[] = [];
    let checkpoint: Checkpoint | undefined;
    const stamp = this.walkLog(
      entity,
      (text) => void (checkpoint = parseCheckpointLine(text, entity)),
      (text, line) => void records.push({ env: readRecord(text), line }),
    );
    return { checkpoint, records, stamp };
  }

  /**
   * Every datagram of the entity still on disk as CID and bytes, history first, without decoding any:
   * serving a peer needs only the bytes, and the receiver verifies them.
   */
  rawDatagrams(entity: string): RawDatagram[] {
    return this.rawDatagramsStamped(entity).raws;
  }

  /** rawDatagrams, with the stamp its log had when read (statStamp of the log says whether it changed since). */
  rawDatagramsStamped(entity: string): { raws: RawDatagram[]; stamp: string } {
    const raws: RawDatagram[] = [];
    const seen = new Set<string>();
    const add = (raw: RawDatagram) => void (seen.has(raw.id) || (seen.add(raw.id), raws.push(raw)));
    const stamp = this.walkLog(
      entity,
      (text) => this.history.readRaw(checkpointHistory(text, entity).ranges).forEach(add),
      (text) => add(rawOfRecord(text)),
    );
    return { raws, stamp };
  }

  /**
   * Reads an entity log line by line (a torn final record skipped); errors name the file and line.
   * Returns the log's stamp as it was read (lines.ts), which changes with any later write to it.
   */
  private walkLog(entity: string, onCheckpoint: (text: string) => void, onRecord: (text: string, line: number) => void): string {
    const file = this.layout.entityLog(entity);
    const read = readLines(file, 0, Infinity, { stamp: true });
    read.lines.forEach((text, i) => {
      try {
        if (i === 0 && isCheckpointLine(text)) onCheckpoint(text);
        else onRecord(text, i + 1);
      } catch (err) {
        throw new StoreError(`${file}:${i + 1}: ${(err as Error).message}`);
      }
    });
    return read.stamp!;
  }

  /** The live records of an entity's log, in order. */
  readLog(entity: string): LogRecord[] {
    return this.readEntityLog(entity).records;
  }

  /** Whether a datagram is applied (persisted or staged in this transaction). */
  has(id: string | CID): boolean {
    return this.index.has(id);
  }

  /** What a datagram still waits for before it can be applied (empty: ready). */
  missingDependencies(env: Envelope): string[] {
    const d = env.datagram;
    const missing = d.p.filter((p) => !this.index.has(p)).map((p) => cidDependency(p.toString()));
    if (this.index.lastSeq(peerIdOf(d.a)) < d.s - 1) missing.push(seqDependency(authorHex(d.a), d.s - 1));
    return missing;
  }

  /**
   * Applies a datagram in memory (must be called inside a transaction). It becomes durable when the
   * transaction ends. Throws InvalidDatagramError, changing nothing, when it is not causally valid here.
   */
  stage(env: Envelope): void {
    if (!this.inTransaction) throw new Error('stage() outside a transaction');
    const d = env.datagram;
    const author = peerIdOf(d.a);
    if (this.index.lastSeq(author) !== d.s - 1) {
      throw new InvalidDatagramError(`datagram ${env.id}: ${author} sequence ${d.s} does not follow ${this.index.lastSeq(author)}`);
    }
    const state = this.state(d.e);
    applyDatagram(state, env);
    rememberCid(env.id, env.cid); // the index looks it up now, and the entity's next write names it as parent
    this.index.stage(this.indexEntry(env), env.cid);
    this.staged.push(env);
    this.dirty.add(d.e);
  }

  /** Datagrams staged in the current transaction. */
  get stagedCount(): number {
    return this.staged.length;
  }

  /** Commits the staged datagrams: journal with fsync (the durability point), then logs and index. */
  private persist(): void {
    if (this.staged.length === 0) return this.marks.persist();
    const lines = this.staged.map(recordBytes);
    this.journal.append(lines, true);
    this.writeCommitted(lines);
  }

  /** persist, with the journal's fsync off the event loop (the lock stays held until it is done). */
  private async persistDurable(): Promise<void> {
    if (this.staged.length === 0) return this.marks.persist();
    const lines = this.staged.map(recordBytes);
    await this.journal.appendDurable(lines);
    this.writeCommitted(lines);
  }

  /** After the journal made them durable: the entity logs and the index (no fsync; the journal replays them). */
  private writeCommitted(lines: Uint8Array[]): void {
    const byEntity = new Map<string, Uint8Array[]>();
    this.staged.forEach((env, i) => {
      const list = byEntity.get(env.datagram.e);
      if (list) list.push(lines[i]!);
      else byEntity.set(env.datagram.e, [lines[i]!]);
    });
    try {
      for (const [entity, ls] of byEntity) this.appendEntityLog(entity, ls);
      this.index.persist();
    } catch (err) {
      // The journal holds these records but some log or the index may not (a full disk, too many open
      // files): read the journal again from its start, so the next catch-up replays what is missing.
      // The caller's discardStaged reloads the index from its file.
      this.journal.forget();
      throw err;
    }
    this.staged = [];
    // marks of absorbed hand edits go after the journal: an edit is "accounted for" only once recorded
    this.marks.persist();
  }

  private discardStaged(): void {
    if (this.staged.length === 0) return;
    for (const env of this.staged) this.states.delete(env.datagram.e);
    this.staged = [];
    this.index.discardStaged();
  }

  /**
   * Creates, on libuv's threads, the folder and empty log of each entity this root holds no datagram of,
   * and returns those entities. A new company costs the kernel far more than an append (two folders and a
   * file: 0.2 to 1 ms of this VM's CPU), and a catch-up may bring thousands: made here, the applying thread
   * does not spend that. Nothing depends on it: appendEntityLog still creates whatever is missing, so a
   * failure here is left for the append to report. Call removeUnused in the transaction that follows.
   */
  async prepareNewEntities(entities: Iterable<string>): Promise<string[]> {
    const fresh = [...new Set(entities)].filter((entity) => !this.index.hasEntity(entity));
    await Promise.all(fresh.map((entity) => this.prepareEntity(entity)));
    return fresh;
  }

  /**
   * Makes one new entity's folder and empty log, once: a caller that sees the entity early (a sync frame
   * as it arrives) and the one that applies it share the same work. The entity stays listed until
   * removeUnused has looked at it, so whatever was made for it and never used can be found and removed.
   */
  private prepareEntity(entity: string): Promise<void> {
    let making = this.preparing.get(entity);
    if (!making) {
      making = fs.promises
        .mkdir(this.layout.updatesDir(entity), { recursive: true })
        .then(() => fs.promises.open(this.layout.entityLog(entity), 'a', 0o644))
        .then((handle) => handle.close())
        .catch(() => undefined);
      this.preparing.set(entity, making);
    }
    return making;
  }

  /** Entities prepareNewEntities made (or is making) that no removeUnused has looked at since. */
  async preparedEntities(): Promise<string[]> {
    await Promise.all(this.preparing.values());
    return [...this.preparing.keys()];
  }

  /**
   * Inside the transaction after prepareNewEntities: removes what it made for entities that got no
   * datagram after all (parked for a missing parent, or refused), so no empty company folder stays behind
   * for cocli or `list` to find. Only empty files and folders go; the root lock keeps other writers out.
   */
  removeUnused(prepared: readonly string[]): void {
    for (const entity of prepared) {
      this.preparing.delete(entity);
      if (this.index.hasEntity(entity)) continue;
      const log = this.layout.entityLog(entity);
      try {
        if (fs.statSync(log).size === 0) fs.unlinkSync(log);
        fs.rmdirSync(this.layout.updatesDir(entity));
        fs.rmdirSync(this.layout.entityDir(entity));
      } catch {
        // not empty (cocli's own files are there), or already gone: leave it
      }
    }
  }

  private appendEntityLog(entity: string, text: LinesText): void {
    const file = this.layout.entityLog(entity);
    try {
      appendLines(file, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      appendLines(file, text);
    }
  }

  /** Saves the index snapshot that makes opening a large data root fast (derived data; no fsync). */
  saveIndexSnapshot(): void {
    this.index.saveSnapshot(this.layout.indexSnapshot);
  }

  /** Forces everything written so far to disk, then empties the journal. */
  async truncateJournal(): Promise<void> {
    this.beforeJournalTruncate?.();
    this.persist(); // what the hook staged (recorded hand edits) goes through the journal like any write
    await this.syncFilesystem();
    this.journal.replace('');
    this.saveIndexSnapshot();
  }

  /**
   * Flushes the data root's file system, through the root's syncer where there is one: a long-running
   * node with a large index would otherwise fork itself for `sync -f`, its event loop blocked meanwhile,
   * every time its journal fills (see FilesystemSyncer).
   */
  private async syncFilesystem(): Promise<void> {
    const syncer = this.filesystemSyncer;
    if (syncer) {
      try {
        return await syncer.sync();
      } catch {
        syncer.close(); // a syncer that cannot sync here is not asked again
        this.syncer = null;
      }
    }
    syncFilesystem(this.layout.mesh);
  }

  /**
   * One long-lived `sync -f` loop for this root (journal truncation, large compactions), started on first
   * use; undefined where there is none, or once it failed.
   */
  get filesystemSyncer(): FilesystemSyncer | undefined {
    if (this.syncer === undefined) this.syncer = FilesystemSyncer.start(this.layout.mesh) ?? null;
    return this.syncer ?? undefined;
  }

  /** Every entity with a log or a cocli file under the root. */
  listEntities(): string[] {
    const out = new Set<string>(this.index.entities());
    for (const [folder, prefix] of [['companies', 'companies/'], ['people', 'people/']] as const) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(path.join(this.layout.root, folder));
      } catch {
        continue;
      }
      for (const n of names) if (/^[a-z0-9-]{3,255}$/.test(n)) out.add(prefix + n);
    }
    return [...out].sort();
  }

  /** Rebuilds the index from the entity logs, in a causal order. */
  rebuildIndex(): number {
    const pending = new PendingSet(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const seen = new Set<string>();
    const ordered: IndexEntry[] = [];
    const accepted = new Set<string>();
    const lastSeq = new Map<string, number>();
    const accept = (env: Envelope) => {
      const queue = [env];
      while (queue.length) {
        const e = queue.shift()!;
        ordered.push(this.indexEntry(e));
        accepted.add(e.id);
        const hex = authorHex(e.datagram.a);
        lastSeq.set(hex, e.datagram.s);
        queue.push(...pending.release([cidDependency(e.id), seqDependency(hex, e.datagram.s)]));
      }
    };
    const entities = this.listEntities().filter((e) => fs.existsSync(this.layout.entityLog(e)));
    if (fs.existsSync(this.layout.entityLog('_cluster'))) entities.push('_cluster');
    const all: Envelope[] = [];
    for (const entity of entities) for (const env of this.allDatagrams(entity)) if (!seen.has(env.id)) seen.add(env.id), all.push(env);
    for (const env of all) {
      const hex = authorHex(env.datagram.a);
      const missing = env.datagram.p.map((p) => p.toString()).filter((id) => !accepted.has(id)).map(cidDependency);
      if ((lastSeq.get(hex) ?? 0) < env.datagram.s - 1) missing.push(seqDependency(hex, env.datagram.s - 1));
      if (missing.length === 0) accept(env);
      else pending.park(env, missing);
    }
    // Anything still parked lacks a dependency on disk; verify reports it.
    this.index.rewrite(ordered);
    this.states.clear();
    return ordered.length;
  }
}
