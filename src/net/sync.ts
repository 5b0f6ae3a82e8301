// Anti-entropy over libp2p: the sync protocol (/cocli-mesh/<cluster>/sync/2.0.0). A node pulls from a
// peer by sending its frontier; the peer answers with its own frontier and then exactly the datagrams the
// puller lacks, in a causal order, in data frames of at most 256 KiB, and an end frame. The puller reads
// and checks at most three frames ahead of the one it applies, and applies each durably in order, so
// memory stays bounded on both sides, the stream's flow control paces the sender, and an interrupted
// sync resumes from the new frontier without re-sending what was applied. A responder that learns from
// the pull that it lacks something pulls back once the session ends, unless a pull of its own fetched it
// first.
//
// Pulls run when this node has dialled a peer that speaks the protocol, every `intervalMs`, and at once
// when gossip delivers a datagram whose parents or earlier sequence numbers are missing.
import { peerIdFromString } from '@libp2p/peer-id';
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { CheckedDatagrams, Mesh } from '../mesh/mesh.js';
import type { Frontier } from '../clock/frontier.js';
import { DataFramer, decodeFrame, encodeFrame, MAX_FRAME_BYTES, MAX_WANTED_CIDS, SyncProtocolError, type Frame } from '../sync/frames.js';
import { frontierAfter, frontierChange, lackCount, sameFrontier } from '../sync/lack.js';
import { withDialTimeout } from './timeout.js';
import { FrameStream } from './frame-stream.js';

/**
 * A session ends after this long or this many datagrams, whichever comes first: long catch-ups run as a
 * series of sessions, each resuming from the frontier the last one left, so a peer is never monopolised
 * and the list of what to send stays bounded. Each new session costs the puller a round trip and a
 * pipeline that drains and fills again (about 0.1 s here), so a session is a few seconds long rather
 * than a fixed, small count (4,096 made a 100,000-datagram catch-up 25 sessions).
 */
const SESSION_MS = 5_000;
const SESSION_DATAGRAMS = 65_536;

/** data frames read and being checked ahead of the one being applied */
const CHECK_AHEAD = 3;

/**
 * At most this many datagrams in one transaction when frames that were checked while the one before was
 * applied are applied together.
 */
const GROUP_DATAGRAMS = 4096;

/** A data frame being checked, and once it is, what the checks gave. */
interface Checking {
  checking: Promise<CheckedDatagrams>;
  checked?: CheckedDatagrams;
}

/** Two frames' checked datagrams as one batch, in order. */
function joinChecked(a: CheckedDatagrams, b: CheckedDatagrams): CheckedDatagrams {
  const r = a.report;
  const report = { received: r.received + b.report.received, applied: 0, duplicates: 0, pending: 0, invalid: [...r.invalid, ...b.report.invalid] };
  return { envs: [...a.envs, ...b.envs], report };
}

/** A pull of at least this many datagrams is a catch-up: rendering waits until it ends. */
const BULK = 1000;

export const syncProtocol = (cluster: string) => `/cocli-mesh/${cluster}/sync/2.0.0`;

export interface PeerSyncStatus {
  /** when the last pull from this peer finished (ms since the epoch) */
  lastSyncAt?: number;
  /** datagrams this node lacked at the start of the last pull, how many were applied, and their bytes */
  lastPull?: { lacked: number; applied: number; bytes: number };
  /** the peer's frontier as it last told it (in a pull, a "have" or a "done" frame), and when */
  theirFrontier?: Frontier;
  theirFrontierAt?: number;
  /** all pulls from this peer so far: datagrams applied, received again (already held), data bytes */
  totals: { pulls: number; applied: number; duplicates: number; bytes: number };
  lastError?: string;
  running: boolean;
}

/** What a peer's last known frontier says now: equal to ours or not, and how many each side lacks. */
export interface SyncView {
  lastSyncAt?: number;
  lastPull?: { lacked: number; applied: number; bytes: number };
  totals: { pulls: number; applied: number; duplicates: number; bytes: number };
  /** null until the peer has told its frontier */
  equal: boolean | null;
  weLack: number | null;
  theyLack: number | null;
  frontierAgeSeconds: number | null;
  lastError?: string;
  running: boolean;
}

export interface SyncOptions {
  /** time between periodic pulls from every connected peer (default 30 s; 0 = only on connect and gaps) */
  intervalMs?: number;
  /** time a pull or a served pull may go without progress (default 30 s) */
  idleTimeoutMs?: number;
  /** how many datagrams were newly applied (for the node's statistics) */
  onApplied?: (n: number) => void;
  /** a pull ended (successfully or not) */
  onPullEnd?: () => void;
  onError?: (message: string) => void;
}

type Reader = { read(): Promise<Frame>; write(frame: Frame): Promise<void> };

/**
 * Frames over a stream, flow-controlled (FrameStream); each read and write must make progress within
 * `idleMs`, or the stream is aborted (a stalled peer). The timer is ours: a signal handed to the stream's
 * reads outlives the read and would cut a long, healthy transfer later.
 */
function framed(stream: Stream, idleMs: number): Reader {
  const frames = new FrameStream(stream, { maxMessageBytes: MAX_FRAME_BYTES });
  const guard = async <T>(work: Promise<T>): Promise<T> => {
    const timer = setTimeout(() => stream.abort(new SyncProtocolError(`no progress for ${idleMs / 1000} s`)), idleMs);
    try {
      return await work;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    read: async () => decodeFrame(await guard(frames.read())),
    write: (frame) => guard(frames.write(encodeFrame(frame))),
  };
}

export class SyncEngine {
  private readonly status = new Map<string, PeerSyncStatus>();
  private readonly queue: string[] = [];
  /**
   * Peers waiting their turn, each with the condition of its pull: undefined = pull in any case; a
   * frontier = pull only if, when its turn comes, this node still lacks something that frontier holds.
   */
  private readonly queued = new Map<string, Frontier | undefined>();
  private draining = false;
  private bulkPulls = 0;

  /** Whether a large catch-up is under way (the node renders cocli's files once it ends, not during it). */
  get catchingUp(): boolean {
    return this.bulkPulls > 0 || this.continuing;
  }
  /** the last session ended with more to fetch, and the next one is queued */
  private continuing = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  readonly protocol: string;
  private get idleMs(): number {
    return this.opts.idleTimeoutMs ?? 30_000;
  }

  constructor(
    private readonly libp2p: Libp2p,
    private readonly mesh: Mesh,
    private readonly opts: SyncOptions = {},
  ) {
    this.protocol = syncProtocol(mesh.config.cluster);
  }

  async start(): Promise<void> {
    await this.libp2p.handle(this.protocol, (stream, connection) => this.respond(stream, connection.remotePeer), { maxInboundStreams: 8 });
    // On a new connection only the dialler pulls. The other side learns the dialler's frontier from that
    // pull and pulls back only if the dialler holds something it lacks (respond): one session per
    // connection instead of two, when the two nodes are already in step or only one side is behind.
    // The pull starts as soon as the connection is open, alongside identify rather than after it (which
    // took another 50 ms or so), unless an earlier identify said the peer does not speak the protocol.
    this.libp2p.addEventListener('connection:open', (event) => {
      const connection = event.detail;
      if (connection.direction !== 'outbound') return;
      const peer = connection.remotePeer;
      void this.libp2p.peerStore
        .get(peer)
        .then((known) => known.protocols.length === 0 || known.protocols.includes(this.protocol))
        .catch(() => true) // not in the peer store yet: try
        .then((speaks) => speaks && this.request(peer.toString()));
    });
    const every = this.opts.intervalMs ?? 30_000;
    if (every > 0) this.timer = setInterval(() => this.pullAll(), every);
  }

  /**
   * Pulls from every connected peer now and waits (at most `timeoutMs`) until those pulls are done, so
   * what `view` says about each peer's frontier is fresh (used by `status`).
   */
  async syncNow(timeoutMs = 3_000): Promise<void> {
    this.pullAll();
    const deadline = Date.now() + timeoutMs;
    while ((this.draining || this.queue.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /** Pulls from every connected peer (a gap was seen, or the periodic round). */
  pullAll(): void {
    for (const peer of this.libp2p.getPeers()) this.request(peer.toString());
  }

  /**
   * Schedules a pull from a peer. Pulls run one at a time, so a second peer is asked only for what the
   * first did not already deliver; a peer asked again while its pull runs is pulled once more after it.
   */
  request(peer: string): void {
    this.enqueue(peer, undefined);
  }

  /**
   * Schedules a pull from a peer that told us its frontier, to run only if this node still lacks some of
   * what that frontier holds when the pull's turn comes: a pull from that peer already running or queued
   * may well fetch it first.
   */
  requestUnlessHeld(peer: string, theirs: Frontier): void {
    this.enqueue(peer, theirs);
  }

  private enqueue(peer: string, unlessHeld: Frontier | undefined): void {
    if (this.stopped) return;
    if (!this.queued.has(peer)) {
      this.queued.set(peer, unlessHeld);
      this.queue.push(peer);
    } else if (!unlessHeld) {
      this.queued.set(peer, undefined); // an unconditional request overrides a conditional one
    }
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.stopped) {
        const peer = this.queue.shift()!;
        const unlessHeld = this.queued.get(peer);
        this.queued.delete(peer);
        if (unlessHeld && lackCount(unlessHeld, this.mesh.frontier()) === 0) continue;
        await this.pull(peer);
      }
    } finally {
      this.draining = false;
    }
  }

  /** Pulls what this node lacks from a peer; resolves when done (errors are recorded, not thrown). */
  async pull(peer: string): Promise<PeerSyncStatus> {
    const s = this.statusOf(peer);
    // a pull already running may have read the peer's frontier before what the caller wants existed
    while (s.running) await new Promise((r) => setTimeout(r, 5));
    s.running = true;
    s.totals.pulls++;
    let stream: Stream | undefined;
    let bulk = false;
    try {
      stream = await withDialTimeout(this.idleMs, (signal) => this.libp2p.dialProtocol(peerIdFromString(peer), this.protocol, { signal, negotiateFully: false }));
      const io = framed(stream, this.idleMs);
      await this.mesh.refresh();
      const wanted = this.mesh.missingParents().slice(0, MAX_WANTED_CIDS);
      const sent = this.mesh.frontier();
      await io.write({ t: 'pull', f: sent, ...(wanted.length ? { c: wanted } : {}) });
      const head = await io.read();
      if (head.t !== 'have') throw new SyncProtocolError(`expected a "have" frame, got "${head.t}"`);
      const theirs = frontierAfter(sent, head.f);
      this.learn(s, theirs);
      this.bulkPulls += head.n >= BULK ? 1 : 0;
      bulk = head.n >= BULK;
      let applied = 0;
      let bytes = 0;
      let received = 0;
      // A pipeline: frames are read and handed to the checkers (other cores) up to CHECK_AHEAD frames
      // ahead of the one being applied, so the checkers always have work while this thread applies, and
      // a slow read never holds up applying what is already here. Memory stays bounded by CHECK_AHEAD.
      const ahead: Checking[] = [];
      let ended = false;
      let stop = false;
      let broken: unknown;
      let wake: (() => void) | undefined;
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const reading = (async () => {
        try {
          for (;;) {
            while (ahead.length >= CHECK_AHEAD && !stop) await new Promise<void>((r) => (wake = r));
            if (stop) break;
            const frame = await io.read();
            if (frame.t === 'end') break;
            if (frame.t !== 'data') throw new SyncProtocolError(`expected a "data" or "end" frame, got "${frame.t}"`);
            const size = frame.d.reduce((n, d) => n + d.length, 0);
            bytes += size;
            s.totals.bytes += size;
            received += frame.d.length;
            this.mesh.prepareFoldersFor(frame.d); // the kernel makes new entities' folders meanwhile
            const entry: Checking = { checking: this.mesh.checkDatagrams(frame.d.map((b) => ({ bytes: b }))) };
            // awaited in order below; a failure must not surface as unhandled meanwhile
            entry.checking.then((c) => void (entry.checked = c)).catch(() => undefined);
            ahead.push(entry);
            notify();
          }
        } catch (err) {
          broken = err; // what was read before the stream broke is still applied
        } finally {
          ended = true;
          notify();
        }
      })();
      try {
        for (;;) {
          while (!ahead.length && !ended) await new Promise<void>((r) => (wake = r));
          const next = ahead.shift();
          if (!next) break;
          notify(); // room for the reader
          let checked = await next.checking;
          // frames checked meanwhile go into the same transaction: one durable commit, and one append to
          // each entity's log, for all of them (the first frames wait longest: new entities' folders).
          // A frame with invalid datagrams is not joined: what came before it is applied, then it fails.
          const joinable = (c?: CheckedDatagrams): c is CheckedDatagrams => !!c && c.report.invalid.length === 0 && checked.envs.length + c.envs.length <= GROUP_DATAGRAMS;
          while (checked.report.invalid.length === 0 && joinable(ahead[0]?.checked)) checked = joinChecked(checked, ahead.shift()!.checked!);
          notify(); // room for the reader
          if (checked.report.invalid.length) throw new SyncProtocolError(`peer sent invalid datagrams: ${checked.report.invalid[0]!.reason}`);
          const report = await this.mesh.importChecked(checked);
          s.totals.applied += report.applied;
          s.totals.duplicates += report.duplicates;
          applied += report.applied;
          if (report.applied) this.opts.onApplied?.(report.applied);
        }
      } finally {
        stop = true; // a reader waiting for room gives up (a failed pull aborts the stream under a waiting read)
        notify();
      }
      await reading;
      if (broken) throw broken;
      await io.write({ t: 'done', f: frontierChange(theirs, this.mesh.frontier()) });
      await stream.close();
      Object.assign(s, { lastSyncAt: Date.now(), lastPull: { lacked: head.n, applied, bytes }, lastError: undefined });
      // a session ends early (SESSION_MS, SESSION_DATAGRAMS): the next one continues from the new frontier
      this.continuing = received < head.n && received > 0;
      if (this.continuing) this.request(peer);
      // what we just learnt, our other peers may lack (sync-applied datagrams are not gossiped): pulling
      // from them shows them our frontier, and a responder that lacks something pulls back at once
      if (applied > 0) for (const other of this.libp2p.getPeers()) if (other.toString() !== peer) this.request(other.toString());
    } catch (err) {
      s.lastError = (err as Error).message;
      this.continuing = false;
      this.opts.onError?.(`sync with ${peer}: ${s.lastError}`);
      stream?.abort(err as Error);
    } finally {
      // folders made for datagrams read but never applied (the pull failed or was cut) must not stay
      await this.mesh.removeUnusedFolders().catch(() => undefined);
      s.running = false;
      if (bulk) this.bulkPulls--;
      this.opts.onPullEnd?.();
    }
    return s;
  }

  /** Serves a pull: our frontier, then exactly what the puller lacks, then the end frame. */
  private async respond(stream: Stream, remote: PeerId): Promise<void> {
    const peer = remote.toString();
    try {
      const io = framed(stream, this.idleMs);
      const req = await io.read();
      if (req.t !== 'pull') throw new SyncProtocolError(`expected a "pull" frame, got "${req.t}"`);
      const theirs: Frontier = req.f;
      await this.mesh.refresh(); // our frontier must include what other processes wrote on this root
      const mine = this.mesh.frontier();
      const s = this.statusOf(peer);
      this.learn(s, theirs);
      const byCid = req.c?.length ? await this.mesh.datagramsByCid(req.c) : [];
      await io.write({ t: 'have', f: frontierChange(theirs, mine), n: lackCount(mine, theirs) + byCid.length });
      const framer = new DataFramer(); // small frames first: the puller's pipeline fills at once
      for (const frame of framer.add(byCid)) await io.write(frame);
      // at most SESSION_DATAGRAMS or SESSION_MS: the rest in the puller's next session
      const deadline = performance.now() + SESSION_MS;
      for await (const chunk of this.mesh.datagramsSinceChunks(theirs, { limit: SESSION_DATAGRAMS })) {
        for (const frame of framer.add(chunk)) await io.write(frame);
        if (performance.now() > deadline) break;
      }
      for (const frame of framer.flush()) await io.write(frame);
      await io.write({ t: 'end' });
      const done = await io.read();
      if (done.t !== 'done') throw new SyncProtocolError(`expected a "done" frame, got "${done.t}"`);
      this.learn(s, frontierAfter(mine, done.f));
      await stream.close();
      // the puller holds something we lack: fetch it now rather than at the next round (unless a pull
      // of ours, running or queued, fetches it first)
      if (lackCount(theirs, mine) > 0) this.requestUnlessHeld(peer, theirs);
    } catch (err) {
      this.opts.onError?.(`serving a sync to ${peer}: ${(err as Error).message}`);
      stream.abort(err as Error);
    }
  }

  private learn(s: PeerSyncStatus, frontier: Frontier): void {
    s.theirFrontier = frontier;
    s.theirFrontierAt = Date.now();
  }

  /** The sync state with a peer as of now, against its last known frontier. */
  view(peer: string): SyncView {
    const s = this.statusOf(peer);
    const mine = this.mesh.frontier();
    const theirs = s.theirFrontier;
    return {
      lastSyncAt: s.lastSyncAt,
      lastPull: s.lastPull,
      totals: { ...s.totals },
      equal: theirs ? sameFrontier(mine, theirs) : null,
      weLack: theirs ? lackCount(theirs, mine) : null,
      theyLack: theirs ? lackCount(mine, theirs) : null,
      frontierAgeSeconds: s.theirFrontierAt ? Math.round((Date.now() - s.theirFrontierAt) / 1000) : null,
      lastError: s.lastError,
      running: s.running,
    };
  }

  statusOf(peer: string): PeerSyncStatus {
    let s = this.status.get(peer);
    if (!s) this.status.set(peer, (s = { running: false, totals: { pulls: 0, applied: 0, duplicates: 0, bytes: 0 } }));
    return s;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.libp2p.unhandle(this.protocol).catch(() => undefined);
  }
}
