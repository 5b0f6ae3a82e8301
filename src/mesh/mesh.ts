// The library API: open a data root, write updates, read entities, list them, subscribe to applied
// datagrams, import and export datagrams. The CLI, the bench and later the daemon are thin layers over it.
import { authorHex, publicKeyOfPeerId } from '../datagram/author.js';
import fs from 'node:fs';
import type { CID } from 'multiformats/cid';
import { parseCid } from '../datagram/cid-cache.js';
import { CLUSTER_ENTITY, parseEntity } from '../datagram/entity.js';
import { InvalidDatagramError } from '../datagram/errors.js';
import { checkUnsigned, datagramCidOf, sortCids } from '../datagram/codec.js';
import { peekEntity } from '../datagram/cbor.js';
import { FORMAT_VERSION, type Datagram, type Envelope, type Op } from '../datagram/types.js';
import { PendingSet, cidDependency, seqDependency } from '../clock/pending.js';
import type { Frontier } from '../clock/frontier.js';
import { editOps } from '../merge/diff.js';
import { viewOf, type EntityView } from '../merge/view.js';
import { Store } from '../store/store.js';
import type { IndexEntry } from '../store/index-file.js';
import { applyRenders, applyRendersAsync, editedContent, filesStamp, planRender, readEntityFiles, sha, type RenderPlan } from '../store/entity-files.js';
import { appendLines, readLines, statStamp } from '../store/lines.js';
import { forgetRecordLine, parseRecord, recordBytes, recordLine, rememberRecordLine, type RawDatagram } from '../store/records.js';
import { writeFileAtomic } from '../store/atomic.js';
import { readPack, writePack } from '../pack/pack.js';
import { commitPrepared, compactBatch, compactionCandidates, CompactionPool, dueForCompaction, saveCompactionMarker, DEFAULT_POLICY, type CompactResult, type Prepared } from '../store/compaction.js';
import { verifyEntities, type VerifyReport } from './verify.js';
import { sharedVerifier } from './verifier.js';
import { entitiesSignedHere, SigningPool, SigningPoolError, type SignedItem, type SignPlan } from './signing-pool.js';
import { createIdentity, loadConfig, loadIdentity, type Identity, type NodeConfig } from '../identity/identity.js';

const IMPORT_CHUNK = 5000;
/** raw datagrams a catch-up stream keeps from the entity logs it read (about 300 bytes each) */
const RAW_CACHE_DATAGRAMS = 200_000;
/** and lets them go after this long without a catch-up session */
const RAW_CACHE_IDLE_MS = 10_000;

export interface CompactOptions {
  /** these entities only (default: every entity changed since the last complete compaction) */
  entities?: string[];
  /** only entities the config's compaction policy says are due */
  auto?: boolean;
  /** discard the history files (never the default) */
  dropHistory?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface CompactSummary {
  candidates: number;
  compacted: number;
  folded: number;
  seconds: number;
  entities: CompactResult[];
}

export interface UpdateRequest {
  entity: string;
  ops: Op[];
}

export interface ImportReport {
  received: number;
  applied: number;
  duplicates: number;
  /** waiting for parents or earlier sequence numbers */
  pending: number;
  invalid: { id?: string; reason: string }[];
}

/** Datagrams from elsewhere that passed every check, and the report of those that did not. */
export interface CheckedDatagrams {
  envs: Envelope[];
  report: ImportReport;
}

/** the pending file is rewritten (without the datagrams applied since) only beyond this size */
const PENDING_REWRITE_BYTES = 1024 * 1024;
/** Most writes committed in one group commit. */
const GROUP_COMMIT_MAX = 4096;
/** Batches of at least this many writes are signed on another core (SigningPool), in chunks of SIGN_CHUNK. */
const SIGN_ELSEWHERE_FROM = 128;
const SIGN_FIRST_CHUNK = 16;
const SIGN_CHUNK = 64;
/**
 * The share of a large batch's datagrams this thread signs itself, whole entities at a time, while the
 * signing worker signs the rest: planning, applying and persisting a datagram here costs about half
 * what signing it costs there, so with all the signing there this thread would wait a third of the time.
 */
const SIGN_HERE_SHARE = 0.15;
/** entities rendered per transaction by flush(): a few ms of work, so receipts interleave */
const RENDER_SLICE = 32;

export interface MeshOptions {
  /** Render cocli files at the end of every write (default) or only on flush(). */
  render?: 'immediate' | 'deferred';
  /** Wall clock for new datagrams (tests skew it); never used for ordering. */
  clock?: () => number;
  /** Journal size that triggers a sync and truncation (default 32 MiB). */
  journalLimit?: number;
}

export type Listener = (env: Envelope, origin: 'local' | 'remote') => void;

export class Mesh {
  readonly store: Store;
  readonly config: NodeConfig;
  readonly identity: Identity;
  readonly warnings: string[] = [];
  private readonly pending: PendingSet;
  private readonly listeners = new Set<Listener>();
  private readonly options: Required<MeshOptions>;
  private pendingChanged = false;
  /** datagrams applied in the current transaction, announced to subscribers once durable */
  private fresh: { env: Envelope; origin: 'local' | 'remote' }[] = [];
  /** entities whose cocli file does not parse: left alone, not re-rendered, until fixed */
  private readonly unreadable = new Set<string>();
  /** per entity, the stamp of its cocli files when we last knew they held no unrecorded edit */
  private readonly unedited = new Map<string, string>();
  /** signs large batches of writes on another core, started on the first one */
  private signingPool?: SigningPool;
  /** false once the signing pool failed (or with a single core) */
  private signElsewhere = SigningPool.worthIt();
  /** entities whose files were checked for hand edits before the first write of the current transaction */
  private readonly checked = new Set<string>();

  private constructor(readonly root: string, options: MeshOptions) {
    this.config = loadConfig(root);
    this.identity = loadIdentity(root);
    this.store = new Store(root, options.journalLimit);
    this.options = { render: options.render ?? 'immediate', clock: options.clock ?? Date.now, journalLimit: options.journalLimit ?? 0 };
    this.pending = new PendingSet();
    this.store.beforeJournalTruncate = () => this.renderDirty();
  }

  /**
   * Queues for announcement the datagrams another process (a CLI next to a daemon) applied on this data
   * root: this node's own writes count as local, so a gossiping node publishes them.
   */
  private collectForeign(): void {
    const entries = this.store.foreign.splice(0);
    if (entries.length === 0 || this.listeners.size === 0) return;
    const byEntity = new Map<string, Set<string>>();
    for (const e of entries) {
      let ids = byEntity.get(e.entity);
      if (!ids) byEntity.set(e.entity, (ids = new Set()));
      ids.add(e.id);
    }
    const found = new Map<string, Envelope>();
    for (const [entity, ids] of byEntity) for (const env of this.store.allDatagrams(entity)) if (ids.has(env.id)) found.set(env.id, env);
    for (const e of entries) {
      const env = found.get(e.id);
      if (env) this.fresh.push({ env, origin: e.author === this.peerId ? 'local' : 'remote' });
    }
  }

  /**
   * Datagrams another process sharing the root applied may be what some datagram waiting here waits for:
   * apply those now (inside the transaction), rather than leave them waiting until this process restarts.
   */
  private releaseForeign(): void {
    if (this.pending.size === 0) return;
    for (const e of this.store.foreign) {
      const key = publicKeyOfPeerId(e.author);
      const released = this.pending.release([cidDependency(e.id), ...(key ? [seqDependency(authorHex(key), e.seq)] : [])]);
      if (released.length === 0) continue;
      this.pendingChanged = true;
      for (const env of released) this.applyReady(env);
    }
  }

  /** Catches up with what other processes wrote to this data root (subscribers hear about it). */
  async refresh(): Promise<void> {
    await this.transaction(() => undefined);
  }

  /** Creates the identity and config of a data root and announces the node's name in _cluster. */
  static async init(root: string, opts: { name?: string; cluster?: string } = {}): Promise<Mesh> {
    fs.mkdirSync(root, { recursive: true });
    await createIdentity(root, opts);
    const mesh = await Mesh.open(root);
    await mesh.update(CLUSTER_ENTITY, [['m', 'nodes', mesh.peerId, mesh.config.name]]);
    return mesh;
  }

  static async open(root: string, options: MeshOptions = {}): Promise<Mesh> {
    const mesh = new Mesh(root, options);
    await mesh.transaction(() => mesh.loadPending());
    return mesh;
  }

  get peerId(): string {
    return this.identity.peerId;
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Writes one datagram with all the ops; resolves once it is durable. Calls made while an earlier write
   * is being committed are committed together in the next transaction, with one fsync (group commit), so
   * many concurrent callers cost about what one batched call does.
   */
  update(entity: string, ops: Op[]): Promise<Envelope> {
    return new Promise((resolve, reject) => {
      this.queuedWrites.push({ request: { entity, ops }, resolve, reject });
      void this.commitQueued();
    });
  }

  private readonly queuedWrites: { request: UpdateRequest; resolve: (env: Envelope) => void; reject: (err: unknown) => void }[] = [];
  private committing = false;

  private async commitQueued(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queuedWrites.length) {
        const batch = this.queuedWrites.splice(0, GROUP_COMMIT_MAX);
        try {
          const envs = await this.updateMany(batch.map((w) => w.request));
          batch.forEach((w, i) => w.resolve(envs[i]!));
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          // one bad request must not fail the others: commit them one by one to see whose it was
          else for (const w of batch) await this.updateMany([w.request]).then(([env]) => w.resolve(env!), w.reject);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** Writes one datagram per request with a single fsync for all of them (group commit). */
  async updateMany(requests: UpdateRequest[]): Promise<Envelope[]> {
    for (const r of requests) {
      const parsed = parseEntity(r.entity);
      if ('error' in parsed) throw new InvalidDatagramError(parsed.error);
    }
    // hand edits first, for every entity of the batch: the batch's own datagrams then take consecutive
    // sequence numbers, and a large batch can plan them all before any is signed
    const absorb = () => requests.forEach((r) => this.absorbHandEditsOnce(r.entity));
    if (requests.length >= SIGN_ELSEWHERE_FROM && this.signElsewhere) {
      const lent: { envs: Envelope[]; buffers: Set<ArrayBuffer> } = { envs: [], buffers: new Set() };
      try {
        return await this.transaction(() => (absorb(), this.writeSignedElsewhere(requests, lent)));
      } catch (err) {
        if (!(err instanceof SigningPoolError)) throw err;
        // nothing of the batch was kept; this node signs on its own thread from now on
        this.warnings.push(`${err.message}; signing on the main thread instead`);
        this.signElsewhere = false;
        this.signingPool = undefined;
      } finally {
        // the transaction has written the lines (or failed): their buffers go back to the worker
        for (const env of lent.envs) forgetRecordLine(env);
        this.signingPool?.recycle(lent.buffers);
      }
    }
    return this.transaction(() => (absorb(), requests.map((r) => this.writeLocal(r.entity, r.ops))));
  }

  /**
   * writeLocal for a large batch, with the signing on another core: every field is planned here (the
   * same values writeLocal would give), the signing pool signs the plans chunk by chunk, and each chunk
   * is staged as it comes back while the next is being signed.
   */
  private async writeSignedElsewhere(requests: readonly UpdateRequest[], lent: { envs: Envelope[]; buffers: Set<ArrayBuffer> }): Promise<Envelope[]> {
    const cluster = this.config.cluster;
    const author = this.identity.publicKey;
    const firstSeq = this.store.index.lastSeq(this.peerId) + 1;
    this.signingPool ??= new SigningPool(this.identity.privateKey.raw.subarray(0, 32), author);
    const pool = this.signingPool;
    const batch = pool.begin();
    // per entity: the Lamport number of its last planned datagram, and its heads (the parents of its
    // first; each later one's parent is the datagram before it, whose CID only the worker will know)
    const lamportOf = new Map<string, number>();
    const heads = new Map<string, CID[]>();
    const plan = (r: UpdateRequest, i: number): SignPlan => {
      let l = lamportOf.get(r.entity);
      let p: Uint8Array[] | undefined;
      if (l === undefined) {
        const next = this.nextOn(r.entity);
        heads.set(r.entity, next.parents);
        p = next.parents.map((c) => c.bytes);
        l = next.lamport;
      } else l++;
      lamportOf.set(r.entity, l);
      const planned: SignPlan = { v: FORMAT_VERSION, c: cluster, e: r.entity, o: r.ops, s: firstSeq + i, l, t: this.wallTime(), ...(p ? { p } : {}) };
      // the checks a peer applies, before anything is signed (parents and Lamport are right by construction)
      checkUnsigned({ v: planned.v, c: cluster, e: planned.e, o: planned.o, a: author, s: planned.s, l: 1, p: [], t: planned.t });
      return planned;
    };
    // Each chunk is sent as soon as it is planned, so the worker signs while the rest is planned. A bad op
    // further on refuses the batch all the same: what was signed for it is dropped, never stored or sent.
    // The first chunk is small, so this thread waits little before it has something to apply.
    const chunks: SignPlan[][] = [];
    const signing: Promise<SignedItem[]>[] = [];
    const here = entitiesSignedHere(requests, SIGN_HERE_SHARE);
    for (let i = 0; i < requests.length; ) {
      const size = i === 0 ? SIGN_FIRST_CHUNK : SIGN_CHUNK;
      const chunk = requests.slice(i, i + size).map((r, k) => plan(r, i + k));
      const there = chunk.filter((planned) => !here.has(planned.e));
      const signed = there.length ? pool.sign(batch, there) : Promise.resolve([]);
      signed.catch(() => undefined); // awaited in order below; none may go unhandled meanwhile
      chunks.push(chunk);
      signing.push(signed);
      i += size;
    }
    const out: Envelope[] = [];
    const previous = new Map<string, CID>();
    const signer = this.identity.signer;
    // an entity's first datagram of the batch names its heads; each later one, the datagram before it
    const parentsOf = (planned: SignPlan): CID[] => (planned.p ? heads.get(planned.e)! : [previous.get(planned.e)!]);
    for (const [k, chunk] of chunks.entries()) {
      // this thread's share of the chunk first, while the worker signs the rest of it
      const mine = chunk.map((planned) => {
        if (!here.has(planned.e)) return undefined;
        const env = signer.signChecked({ v: planned.v, c: planned.c, e: planned.e, o: planned.o, a: author, s: planned.s, l: planned.l, p: parentsOf(planned), t: planned.t });
        previous.set(planned.e, env.cid);
        return env;
      });
      const signed = await signing[k]!;
      let next = 0;
      chunk.forEach((planned, i) => {
        let env = mine[i];
        if (!env) {
          const { bytes, cid: cidBytes, id, line, buffer } = signed[next++]!;
          const cid = datagramCidOf(cidBytes);
          const datagram: Datagram = { v: planned.v, e: planned.e, o: planned.o, a: author, s: planned.s, l: planned.l, p: parentsOf(planned), t: planned.t, z: bytes.subarray(bytes.length - 64) };
          env = { datagram, bytes, cid, id };
          rememberRecordLine(env, line);
          lent.envs.push(env);
          lent.buffers.add(buffer);
          previous.set(planned.e, cid);
        }
        this.store.stage(env);
        this.fresh.push({ env, origin: 'local' });
        out.push(env);
      });
    }
    return out;
  }

  /**
   * A store transaction that also renders (in immediate mode), saves the pending set, and tells
   * subscribers about every datagram it applied once they are durable.
   */
  private async transaction<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      return await this.store.transaction(async () => {
        this.releaseForeign();
        const out = await fn();
        if (this.options.render === 'immediate') this.renderDirty();
        this.savePending();
        return out;
      });
    } finally {
      this.warnings.push(...this.store.problems.splice(0));
      this.collectForeign();
      this.checked.clear();
      const fresh = this.fresh;
      this.fresh = [];
      // only what became durable is announced: a failed transaction staged nothing that survives
      for (const { env, origin } of fresh) {
        if (this.store.index.has(env.cid)) for (const fn of this.listeners) fn(env, origin);
      }
    }
  }

  /**
   * Writes one datagram whose ops are computed from the entity's current view inside the write lock
   * (for "replace this list" or "refuse a company without a name" decisions that must not race).
   */
  async updateWith(entity: string, build: (view: EntityView) => Op[]): Promise<Envelope | undefined> {
    const parsed = parseEntity(entity);
    if ('error' in parsed) throw new InvalidDatagramError(parsed.error);
    return this.transaction(() => {
      this.absorbHandEdits(entity);
      const ops = build(viewOf(this.store.state(entity)));
      return ops.length ? this.writeLocal(entity, ops) : undefined;
    });
  }

  /** Signs a datagram by this node on top of the entity's heads and stages it. */
  private writeLocal(entity: string, ops: Op[]): Envelope {
    const { parents, lamport } = this.nextOn(entity);
    const env = this.identity.signer.sign({
      v: FORMAT_VERSION,
      c: this.config.cluster,
      e: entity,
      o: ops,
      a: this.identity.publicKey,
      s: this.store.index.lastSeq(this.peerId) + 1,
      l: lamport,
      p: parents,
      t: this.wallTime(),
    });
    this.store.stage(env);
    this.fresh.push({ env, origin: 'local' });
    return env;
  }

  /** A datagram's wall time: the clock in whole seconds (for people only; never used for ordering). */
  private wallTime(): number {
    return Math.floor(this.options.clock() / 1000) * 1000;
  }

  /** The parents (the entity's heads) and Lamport number of this node's next datagram on an entity. */
  private nextOn(entity: string): { parents: CID[]; lamport: number } {
    const state = this.store.state(entity);
    return { parents: sortCids(state.heads.map(parseCid)), lamport: 1 + state.heads.reduce((m, h) => Math.max(m, state.dag[h]!.lamport), 0) };
  }

  /** absorbHandEdits, at most once per entity and transaction (before its first write in it). */
  private absorbHandEditsOnce(entity: string): void {
    if (this.checked.has(entity)) return;
    this.checked.add(entity);
    this.absorbHandEdits(entity);
  }

  /**
   * If cocli or a person changed the entity's files since we last rendered them (or the entity exists
   * only as files), records the difference as a datagram by this node, so it merges like any write.
   */
  private absorbHandEdits(entity: string): Envelope | undefined {
    const parsed = parseEntity(entity);
    if ('error' in parsed || parsed.type === 'cluster') return undefined;
    const stamp = filesStamp(this.store.layout, entity, parsed.type);
    if (this.unedited.get(entity) === stamp) return undefined;
    // cocli does not write atomically: a file that does not parse is read once more before it is called bad
    let files = readEntityFiles(this.store.layout, this.store.marks, entity, parsed.type);
    let edited;
    for (let attempt = 1; ; attempt++) {
      try {
        edited = editedContent(files, files.docPath ?? entity);
        break;
      } catch (err) {
        if (attempt === 1) {
          files = readEntityFiles(this.store.layout, this.store.marks, entity, parsed.type);
          continue;
        }
        this.warnings.push(`${(err as Error).message}; the file is left as it is and not re-rendered until it is fixed`);
        this.store.dirty.delete(entity);
        this.unreadable.add(entity);
        return undefined;
      }
    }
    this.unreadable.delete(entity);
    if (!edited) {
      this.unedited.set(entity, stamp);
      return undefined;
    }
    const current = viewOf(this.store.state(entity));
    const base = viewOf(this.store.viewAt(entity, files.mark.heads ?? []));
    const { ops, warnings } = editOps(parsed.type, base, current, edited.fields, edited.body);
    for (const w of warnings) this.warnings.push(`${files.docPath}: ${w}`);
    this.store.dirty.add(entity);
    // these contents are now recorded: reading them again must not record them twice
    this.store.marks.absorb(entity, files.docText === undefined ? undefined : sha(files.docText), files.tagsText === undefined ? undefined : sha(files.tagsText));
    if (ops.length === 0) return undefined;
    return this.writeLocal(entity, ops);
  }


  /** Renders every entity whose datagrams changed since its files were last written. */
  private renderDirty(): void {
    const plans = this.planRenders([...this.store.dirty]);
    applyRenders(this.store.layout, this.store.marks, plans);
    this.renderedStamps(plans);
  }

  /** Plans the renders of these entities (recording hand edits of their files first). */
  private planRenders(entities: readonly string[]): RenderPlan[] {
    const plans: RenderPlan[] = [];
    for (const entity of entities) {
      if (!this.store.dirty.delete(entity)) continue; // rendered meanwhile
      const parsed = parseEntity(entity);
      if ('error' in parsed || parsed.type === 'cluster' || this.unreadable.has(entity)) continue;
      this.absorbHandEdits(entity);
      if (this.unreadable.has(entity)) continue;
      const plan = planRender(this.store.layout, this.store.marks, entity, parsed.type, viewOf(this.store.state(entity)));
      if (plan && 'warning' in plan) this.warnings.push(plan.warning);
      else if (plan) plans.push(plan);
    }
    return plans;
  }

  /** Remembers the rendered files' fingerprints: unchanged files need not be read for hand edits. */
  private renderedStamps(plans: readonly RenderPlan[]): void {
    for (const plan of plans) this.unedited.set(plan.entity, filesStamp(this.store.layout, plan.entity, plan.type));
  }

  /**
   * Writes cocli's files for every entity changed since they were last written. In slices of a few
   * entities, each its own transaction with its fsyncs off the event loop: a long-running node goes on
   * receiving and applying between slices instead of stalling for a whole large render.
   */
  async flush(): Promise<void> {
    const todo = [...this.store.dirty];
    for (let i = 0; i < todo.length; i += RENDER_SLICE) {
      const slice = todo.slice(i, i + RENDER_SLICE);
      await this.transaction(() => {
        const plans = this.planRenders(slice);
        return applyRendersAsync(this.store.layout, this.store.marks, plans).then(() => this.renderedStamps(plans));
      });
    }
  }

  /** Reads an entity's merged view (recording hand edits of its files first). */
  async read(entity: string): Promise<EntityView> {
    const parsed = parseEntity(entity);
    if ('error' in parsed) throw new InvalidDatagramError(parsed.error);
    return this.transaction(() => {
      this.absorbHandEdits(entity);
      return viewOf(this.store.state(entity));
    });
  }

  list(): string[] {
    return this.store.listEntities();
  }

  frontier(): Frontier {
    return this.store.index.frontier();
  }

  /** Node names announced in _cluster, by PeerID. */
  nodeNames(): Record<string, string> {
    const view = viewOf(this.store.state(CLUSTER_ENTITY));
    const nodes = view.fields.nodes;
    return typeof nodes === 'object' && nodes && !Array.isArray(nodes) ? (nodes as Record<string, string>) : {};
  }

  /**
   * Applies datagrams from elsewhere (a pack, a peer): strict decode, cluster and signature checks,
   * then causal delivery through the pending set. Idempotent.
   */
  async importDatagrams(items: Iterable<{ bytes: Uint8Array; cid?: CID }>): Promise<ImportReport> {
    return this.importChecked(await this.checkDatagrams(items));
  }

  /**
   * The checks of importDatagrams without applying anything (large batches run on other cores), so a
   * caller can check the next batch while the previous one is applied.
   */
  async checkDatagrams(items: Iterable<{ bytes: Uint8Array; cid?: CID }>): Promise<CheckedDatagrams> {
    const list = [...items].map((item) => ({ bytes: item.bytes, cid: item.cid?.toString() }));
    const results = await sharedVerifier().check(list, this.config.cluster);
    const report: ImportReport = { received: list.length, applied: 0, duplicates: 0, pending: 0, invalid: [] };
    const envs: Envelope[] = [];
    results.forEach((r, i) => {
      if ('error' in r) report.invalid.push({ id: list[i]!.cid, reason: r.error });
      else envs.push(r.env);
    });
    return { envs, report };
  }

  /** Applies what checkDatagrams accepted. */
  async importChecked(checked: CheckedDatagrams): Promise<ImportReport> {
    return this.applyVerified(checked.envs, checked.report);
  }

  /**
   * Applies envelopes the caller has already decoded strictly and verified for this cluster (the gossip
   * validator has), so the hot path does not check every signature twice.
   */
  async importEnvelopes(envs: readonly Envelope[]): Promise<ImportReport> {
    return this.applyVerified(envs, { received: envs.length, applied: 0, duplicates: 0, pending: 0, invalid: [] });
  }

  private async applyVerified(envs: readonly Envelope[], report: ImportReport): Promise<ImportReport> {
    // new entities' folders are made on libuv's threads while this thread stages (a new folder can cost
    // the kernel a millisecond or more); the appends after staging need them
    const preparing = this.store.prepareNewEntities(envs.map((env) => env.datagram.e));
    await this.transaction(async () => {
      for (const env of envs) {
        if (this.store.has(env.cid) || this.pending.has(env.id)) {
          report.duplicates++;
          continue;
        }
        const missing = this.store.missingDependencies(env);
        if (missing.length) {
          if (!this.pending.park(env, missing)) report.invalid.push({ id: env.id, reason: 'pending set is full; fetch it again later' });
          this.pendingChanged = true;
          continue;
        }
        report.applied += this.applyReady(env, report);
      }
      this.store.removeUnused(await preparing);
    });
    report.pending = this.pending.size;
    return report;
  }

  /**
   * Starts making the folders of new entities that datagrams not yet checked name (read from their first
   * bytes), so the kernel does that while they are checked. Call removeUnusedFolders when the datagrams
   * may never be applied (a sync that ends early), so nothing made for them stays behind.
   */
  prepareFoldersFor(items: Iterable<Uint8Array>): void {
    const entities = new Set<string>();
    for (const bytes of items) {
      const entity = peekEntity(bytes);
      if (entity !== undefined) entities.add(entity);
    }
    void this.store.prepareNewEntities(entities);
  }

  /** Removes what prepareFoldersFor made for entities that got no datagram after all. */
  async removeUnusedFolders(): Promise<void> {
    const made = await this.store.preparedEntities();
    if (made.length) await this.transaction(() => this.store.removeUnused(made));
  }

  /** CIDs that parked datagrams name as parents and this node lacks (for a peer to send by id). */
  missingParents(): string[] {
    return this.pending
      .wanted()
      .filter((dep) => dep.startsWith('cid:'))
      .map((dep) => dep.slice(4));
  }

  /** How many received datagrams wait for parents or earlier sequence numbers. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Applies a causally ready datagram and then everything in the pending set it unblocks; returns how many. */
  private applyReady(first: Envelope, report?: ImportReport): number {
    const queue = [first];
    let applied = 0;
    while (queue.length) {
      const env = queue.shift()!;
      try {
        if (!this.store.has(env.cid)) {
          this.absorbHandEditsOnce(env.datagram.e);
          this.store.stage(env);
          this.fresh.push({ env, origin: 'remote' });
          applied++;
        }
      } catch (err) {
        report?.invalid.push({ id: env.id, reason: (err as Error).message });
        continue;
      }
      const released = this.pending.release([cidDependency(env.id), seqDependency(authorHex(env.datagram.a), env.datagram.s)]);
      if (released.length) this.pendingChanged = true;
      queue.push(...released);
    }
    return applied;
  }


  /** Loads the pending set saved by earlier runs and applies what has become ready since. */
  private loadPending(): void {
    const saved = readLines(this.store.layout.pending);
    this.pendingFileBytes = saved.end;
    this.pendingFileIno = fs.statSync(this.store.layout.pending, { throwIfNoEntry: false })?.ino;
    for (const line of saved.lines) {
      let env: Envelope;
      try {
        env = parseRecord(line).env;
      } catch {
        continue; // a damaged pending record is dropped: a peer or pack will deliver the datagram again
      }
      if (this.store.has(env.id) || this.pending.has(env.id)) continue;
      const missing = this.store.missingDependencies(env);
      if (missing.length) {
        if (this.pending.park(env, missing)) this.pendingInFile.add(env.id);
      } else {
        this.pendingChanged = true;
        this.applyReady(env);
      }
    }
  }

  /**
   * Saves the pending set. The file grows by appends: rewriting it whole at every change made each
   * received message cost the whole set when many datagrams waited. It is rewritten only once it is
   * mostly datagrams applied since (loading skips those), or when nothing waits any more. No fsync: a
   * lost pending record is fetched from a peer again.
   */
  private savePending(): void {
    if (!this.pendingChanged) return;
    this.pendingChanged = false;
    const file = this.store.layout.pending;
    const waiting = this.pending.all();
    // about 3 bytes of log line per datagram byte (base64 and the readable fields)
    const mostlyApplied = this.pendingFileBytes > PENDING_REWRITE_BYTES && this.pendingFileBytes > 6 * this.pending.bytes;
    // another process sharing the root replaced the file with what it held: write all of ours again
    const replaced = fs.statSync(file, { throwIfNoEntry: false })?.ino !== this.pendingFileIno;
    if (mostlyApplied || replaced || (waiting.length === 0 && this.pendingFileBytes > 0)) {
      const text = waiting.map(recordLine).join('');
      writeFileAtomic(file, text, { fsync: false });
      this.pendingInFile = new Set(waiting.map((env) => env.id));
      this.pendingFileBytes = Buffer.byteLength(text);
      this.pendingFileIno = fs.statSync(file).ino;
      return;
    }
    const added = waiting.filter((env) => !this.pendingInFile.has(env.id));
    if (added.length === 0) return;
    this.pendingFileBytes = appendLines(file, added.map(recordBytes));
    this.pendingFileIno ??= fs.statSync(file).ino; // the append created it
    for (const env of added) this.pendingInFile.add(env.id);
  }
  /** ids of the records in the pending file, its size and its inode, as this process last wrote or read it */
  private pendingInFile = new Set<string>();
  private pendingFileBytes = 0;
  private pendingFileIno?: number;

  /** Every datagram of the given entities (all when omitted) still on disk: history, then live log. */
  datagramsOf(entities?: string[]): Envelope[] {
    const out: Envelope[] = [];
    for (const e of entities ?? [...this.store.index.entities()]) out.push(...this.store.allDatagrams(e));
    return out;
  }

  /**
   * Compacts entities: folds their live logs into checkpoints and history files without changing the
   * merge result. `entities` names them; otherwise every entity changed since the last complete run
   * (`auto`: only those the config's policy says are due).
   */
  async compact(opts: CompactOptions = {}): Promise<CompactSummary> {
    const started = performance.now();
    const planned = opts.entities
      ? { entities: opts.entities, position: undefined }
      : await this.store.transaction(() => compactionCandidates(this.store));
    const policy = { ...DEFAULT_POLICY, ...(this.config.compaction ?? {}) };
    const results: CompactResult[] = [];
    // entities per batch: each is one commit (one history append, one journal, one flush); the variable
    // exists for tuning and for tests that drive the pipelined path on small roots
    const batchSize = Math.max(1, Number(process.env.COCLI_MESH_COMPACT_BATCH) || 500);
    // large runs fold entities in worker threads (the CPU-heavy part) while this thread commits
    const pool = planned.entities.length > 2 * batchSize ? new CompactionPool(this.root) : undefined;
    const syncer = pool ? this.store.filesystemSyncer : undefined;
    const batches: string[][] = [];
    for (let i = 0; i < planned.entities.length; i += batchSize) batches.push(planned.entities.slice(i, i + batchSize));
    const due = (batch: string[]) => (opts.auto ? batch.filter((e) => dueForCompaction(this.store, e, policy, this.options.clock())) : batch);
    let next: Promise<Prepared[]> | undefined;
    try {
      // Pipelined: workers fold the next batch while this thread commits the current one; the commit
      // re-folds, under the lock, any entity whose log changed after its worker read it.
      next = pool && batches.length ? pool.prepare(due(batches[0]!), !!opts.dropHistory) : undefined;
      for (let i = 0; i < batches.length; i++) {
        const prepared = next ? await next : undefined;
        next = pool && i + 1 < batches.length ? pool.prepare(due(batches[i + 1]!), !!opts.dropHistory) : undefined;
        // Hand edits need not be recorded first: they are diffed against the render they started from,
        // whose heads stay resolvable after compaction.
        const done = await this.store.transaction(() =>
          prepared ? commitPrepared(this.store, prepared, !!opts.dropHistory, syncer) : compactBatch(this.store, due(batches[i]!), { dropHistory: opts.dropHistory }),
        );
        if (prepared) pool!.recycle(prepared);
        results.push(...done);
        opts.onProgress?.(Math.min((i + 1) * batchSize, planned.entities.length), planned.entities.length);
      }
    } finally {
      next?.catch(() => undefined); // a batch prepared ahead of a failure is abandoned, not unhandled
      await pool?.close();
    }
    await this.flush();
    await this.store.transaction(() => {
      if (planned.position !== undefined && !opts.auto) saveCompactionMarker(this.store, planned.position);
      this.store.saveIndexSnapshot();
    });
    return {
      candidates: planned.entities.length,
      compacted: results.length,
      folded: results.reduce((n, r) => n + r.folded, 0),
      seconds: (performance.now() - started) / 1000,
      entities: results,
    };
  }

  /** Datagrams this node holds that a node with `since` lacks, in a causal order. */
  datagramsSince(since: Frontier = {}): Envelope[] {
    return this.datagramsAt(this.store.index.positionsSince(since));
  }

  /**
   * The same, in chunks of at most `chunk` datagrams, each read under the store lock, so a large catch-up
   * (a peer's sync, a pack) never holds everything in memory or the lock for long.
   */
  async *datagramsSinceChunks(since: Frontier, opts: { chunk?: number; limit?: number } = {}): AsyncGenerator<RawDatagram[]> {
    const chunk = opts.chunk ?? 1024;
    const all = await this.store.transaction(() => this.store.index.positionsSince(since));
    const positions = all.slice(0, opts.limit ?? all.length);
    // An entity's log is read whole, and its datagrams usually span several chunks and, in a long
    // catch-up, several sessions: what was read is kept across sessions while they follow each other,
    // and a log is read again only when it changed since (its stamp), once per session.
    const checked = new Set<string>();
    const read = (entity: string): Map<string, RawDatagram> => {
      const cache = this.rawCache;
      const hit = cache.logs.get(entity);
      if (hit && (checked.has(entity) || hit.stamp === statStamp(this.store.layout.entityLog(entity)))) {
        checked.add(entity);
        return hit.byId;
      }
      if (cache.datagrams > RAW_CACHE_DATAGRAMS) cache.logs.clear(), (cache.datagrams = 0);
      const { raws, stamp } = this.store.rawDatagramsStamped(entity);
      const byId = new Map(raws.map((d) => [d.id, d]));
      cache.logs.set(entity, { stamp, byId });
      cache.datagrams += byId.size;
      checked.add(entity);
      return byId;
    };
    clearTimeout(this.rawCacheTimer);
    try {
      for (let i = 0; i < positions.length; i += chunk) {
        yield await this.store.transaction(() => {
          const wanted = positions.slice(i, i + chunk).map((pos) => this.store.index.entryAt(pos));
          return wanted.map((e) => read(e.entity).get(e.id)).filter((d): d is RawDatagram => d !== undefined);
        });
      }
    } finally {
      // kept for the puller's next session, then let go
      this.rawCacheTimer = setTimeout(() => {
        this.rawCache.logs.clear();
        this.rawCache.datagrams = 0;
      }, RAW_CACHE_IDLE_MS);
      this.rawCacheTimer.unref();
    }
  }
  /** entity logs read to serve catch-ups, as raw datagrams by CID, with the stamp each log had */
  private readonly rawCache = { logs: new Map<string, { stamp: string; byId: Map<string, RawDatagram> }>(), datagrams: 0 };
  private rawCacheTimer?: NodeJS.Timeout;

  /** The datagrams at index positions, in the order given (read from their entities' history and logs). */
  private datagramsAt(positions: readonly number[]): Envelope[] {
    const index = this.store.index;
    const wanted = positions.map((pos) => index.entryAt(pos));
    const byId = new Map<string, Envelope>();
    for (const env of this.datagramsOf([...new Set(wanted.map((e) => e.entity))])) byId.set(env.id, env);
    return wanted.map((e) => byId.get(e.id)).filter((e): e is Envelope => e !== undefined);
  }

  /** The datagrams with these CIDs that this node holds, as CIDs and bytes (a peer fetching missing parents). */
  async datagramsByCid(ids: readonly string[]): Promise<RawDatagram[]> {
    return this.store.transaction(() => {
      const wanted = new Set(ids.filter((id) => this.store.index.has(id)));
      const entities = new Set([...wanted].map((id) => this.store.index.get(id)!.entity));
      return [...entities].flatMap((e) => this.store.rawDatagrams(e)).filter((d) => wanted.has(d.id));
    });
  }

  /** Re-verifies the logs of the given entities (all when omitted). */
  verify(entities?: string[]): VerifyReport {
    const all = entities ?? [...new Set([...this.store.listEntities(), ...this.store.index.entities()])].sort();
    return verifyEntities(this.store, this.config.cluster, all.filter((e) => entities || fs.existsSync(this.store.layout.entityLog(e))));
  }

  /** Writes a pack of what a node with frontier `since` lacks (everything when omitted). */
  async exportPack(file: string, since: Frontier = {}): Promise<{ datagrams: number; bytes: number }> {
    const envs = await this.store.transaction(() => this.datagramsSince(since));
    const bytes = await writePack(file, envs);
    return { datagrams: envs.length, bytes };
  }

  /** Imports a pack: verifies everything, applies in causal order, idempotent. */
  async importPack(file: string): Promise<ImportReport> {
    const blocks = await readPack(file);
    const total: ImportReport = { received: 0, applied: 0, duplicates: 0, pending: 0, invalid: [] };
    for (let i = 0; i < blocks.length || i === 0; i += IMPORT_CHUNK) {
      const r = await this.importDatagrams(blocks.slice(i, i + IMPORT_CHUNK));
      total.received += r.received;
      total.applied += r.applied;
      total.duplicates += r.duplicates;
      total.pending = r.pending;
      total.invalid.push(...r.invalid);
    }
    return total;
  }

  authorName(peerId: string): string {
    return this.nodeNames()[peerId] ?? peerId.slice(-8);
  }

  async close(): Promise<void> {
    if (this.store.dirty.size) await this.flush();
    await this.signingPool?.close();
    this.signingPool = undefined;
  }
}
