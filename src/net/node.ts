// The libp2p node of a data root: the node's own key as its PeerID, TCP + noise + yamux, identify, ping;
// discovery by a bootstrap list, mDNS and a private Kademlia DHT, dialling what it discovers and
// redialling with backoff; one gossipsub topic per cluster. This node's own datagrams are published at
// once (and, after a restart, whatever it wrote while offline: the published position is persisted);
// received messages pass a synchronous validator (invalid ones are rejected: not delivered, not
// forwarded, and counted against the sender's peer score) and are applied through the same pipeline as
// local writes, with cocli's files re-rendered shortly after.
import './polyfill.js';
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import './yamux-window.js';
import { identify } from '@libp2p/identify';
import { ping, type Ping } from '@libp2p/ping';
import { mdns } from '@libp2p/mdns';
import { bootstrap } from '@libp2p/bootstrap';
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht';
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerDiscovery, PeerId, PeerInfo as Libp2pPeerInfo } from '@libp2p/interface';
import type { Mesh } from '../mesh/mesh.js';
import type { Envelope } from '../datagram/types.js';
import { decodeMessage, encodeMessages, topicOf } from './gossip.js';
import { PeerBook, type FoundBy, type PeerInfo } from './peers.js';
import { PublishedMark } from './published.js';
import { SyncEngine, type SyncView } from './sync.js';
import { withDialTimeout } from './timeout.js';
import { sharedVerifier } from '../mesh/verifier.js';

export interface MeshNodeOptions {
  /** listen multiaddrs (default: TCP on 127.0.0.1, a free port) */
  listen?: string[];
  /** addresses to tell peers instead of the listen addresses (a port forward, a relay in front) */
  announce?: string[];
  /** multiaddrs with /p2p/<PeerID> of peers to dial at start and stay connected to */
  bootstrap?: string[];
  /** multicast DNS discovery on the local subnet (default off here; the daemon's config turns it on) */
  mdns?: boolean;
  /** the private Kademlia DHT that finds peers by PeerID (default on) */
  dht?: boolean;
  /** when given, only datagrams by these PeerIDs are accepted */
  trusted?: string[];
  /** how often to pick up datagrams written on this data root by other processes (a CLI); 0 = never */
  refreshMs?: number;
  /** how long after receipt cocli's files are re-rendered (debounce; default 100 ms) */
  renderDelayMs?: number;
  /** time between anti-entropy rounds with every connected peer (default 30 s; 0 = on connect and gaps only) */
  syncIntervalMs?: number;
  /** test hook: a received message is dropped (as if lost) when this returns true */
  dropIncoming?: () => boolean;
  /** bench hook: called with the datagrams of every valid message as it is delivered */
  onMessage?: (envs: readonly Envelope[]) => void;
}

export interface NodeStats {
  /** own datagrams published, and the messages that carried them */
  published: number;
  messagesPublished: number;
  /** datagrams received in valid messages (including ones already held), and the messages */
  received: number;
  messagesReceived: number;
  applied: number;
  rejected: number;
  lastError?: string;
  lastErrorAt?: number;
}

export interface PeerReport extends PeerInfo {
  name?: string;
  addresses: string[];
  sync: SyncView;
}

type Services = { pubsub: GossipSub; identify: unknown; ping: Ping; dht?: PeerDiscovery; mdns?: PeerDiscovery; bootstrap?: PeerDiscovery };

const TICK_MS = 250;
/** a transaction per received message: keep the root lock between them rather than re-create its file */
const LOCK_LEASE_MS = 20;
const DIAL_TIMEOUT_MS = 10_000;

/**
 * Gossipsub's mesh: each node grafts one peer (D 1) but accepts grafts from up to 12 (Dhi), so links stay
 * symmetric and a node that can reach the cluster through one peer only is still in that peer's mesh. A
 * cluster is a handful of nodes, mostly all connected, and a publisher floods its own messages to every
 * peer anyway: every further mesh link only makes each node receive each message once more (decrypted,
 * hashed, dropped as a duplicate) and send it on once more. With the default degree of 6 (or 3), a node of
 * a 5-node cluster sent about 17 socket writes per message; with these, 4, and about a fifth less CPU.
 * What the mesh misses in a sparse topology still arrives through gossip's IHAVE/IWANT each heartbeat,
 * and anti-entropy repairs any loss.
 */
const MESH_DEGREE = { D: 1, Dlo: 1, Dhi: 12, Dout: 0, Dscore: 1 } as const;

/**
 * The transport stack and the gossip service every node runs; the bench's bare-libp2p baseline runs the
 * very same, so the two are measured on one stack. yamux keeps its default initial 256 KiB stream window: a
 * larger one gave catch-up about 10% here, but js-yamux assumes the remote's initial window equals its own,
 * so peers configured differently would break streams.
 *
 * How far a stream's window may grow is ours to set: js-yamux grows a busy stream's window up to 16 MiB.
 * A reader that pauses a stream (the sync puller does, while its pipeline is full) withholds further
 * window updates, but the sender may still send whatever window it holds, and libp2p aborts a stream whose
 * unread data passes 4 MiB. Capped at 1 MiB, a paused stream's backlog stays well below that, and 1 MiB
 * still covers a link's round trip at LAN and ordinary internet speeds.
 */
export function transportStack(): Pick<Libp2pOptions, 'transports' | 'connectionEncrypters' | 'streamMuxers'> {
  return { transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: MAX_STREAM_WINDOW_BYTES } })] };
}

export const MAX_STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * Datagrams carry their own signatures: gossipsub's per-message signature would only cost CPU (message
 * ids are then the SHA-256 of the content, so a message re-published is recognised). Every node speaks
 * gossipsub: no floodsub fallback, whose protocol every identify would announce.
 */
export function gossipService() {
  const make = gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, globalSignaturePolicy: 'StrictNoSign', fallbackToFloodsub: false, ...MESH_DEGREE });
  return (components: Parameters<typeof make>[0]): GossipSub => {
    const service = make(components);
    // every node of a cluster runs this same gossipsub: announcing its one version, not also 1.0 and 1.1,
    // keeps 64 bytes out of every connection's identify exchange
    service.protocols = [GOSSIPSUB_PROTOCOL];
    return service;
  };
}

export const GOSSIPSUB_PROTOCOL = '/meshsub/1.2.0';
/** what identify tells peers this node runs (libp2p's default names libp2p and Node's version) */
const USER_AGENT = 'cocli-mesh';

export const dhtProtocol = (cluster: string) => `/cocli-mesh/${cluster}/kad/1.0.0`;
export const MDNS_SERVICE_TAG = '_cocli-mesh._udp.local';

export class MeshNode {
  readonly stats: NodeStats = { published: 0, messagesPublished: 0, received: 0, messagesReceived: 0, applied: 0, rejected: 0 };
  readonly peers = new PeerBook();
  private unsubscribe?: () => void;
  private outbox: Envelope[] = [];
  private inbox: Envelope[] = [];
  private publishing?: Promise<void>;
  private importing?: Promise<void>;
  private renderTimer?: NodeJS.Timeout;
  private ticker?: NodeJS.Timeout;
  private refreshing = false;
  private lastRefresh = 0;
  private stopped = false;
  /** envelopes decoded by the validator, handed to the message event without decoding twice */
  private readonly validated = new Map<Uint8Array, Envelope[]>();

  private constructor(
    readonly mesh: Mesh,
    readonly libp2p: Libp2p<Services>,
    readonly topic: string,
    private readonly mark: PublishedMark,
    private readonly opts: MeshNodeOptions,
  ) {
    this.sync = new SyncEngine(libp2p as unknown as Libp2p, mesh, {
      intervalMs: opts.syncIntervalMs,
      onApplied: (n) => {
        this.stats.applied += n;
        this.scheduleRender();
      },
      onError: (message) => this.error(message),
      onPullEnd: () => this.scheduleRender(),
    });
  }

  readonly sync: SyncEngine;

  static async start(mesh: Mesh, opts: MeshNodeOptions = {}): Promise<MeshNode> {
    const cluster = mesh.config.cluster;
    const services: Record<string, unknown> = {
      identify: identify(),
      // the DHT pings peers too: room for those and a user's ping at once
      ping: ping({ maxOutboundStreams: 8 }),
      pubsub: gossipService(),
    };
    // private DHT: its own protocol name so it never joins the public one; server mode and LAN addresses kept
    if (opts.dht !== false) services.dht = kadDHT({ protocol: dhtProtocol(cluster), clientMode: false, peerInfoMapper: passthroughMapper });
    if (opts.mdns) services.mdns = mdns({ serviceTag: MDNS_SERVICE_TAG, interval: 5_000 });
    if (opts.bootstrap?.length) services.bootstrap = bootstrap({ list: opts.bootstrap, timeout: 10 });
    const libp2p = (await createLibp2p({
      privateKey: mesh.identity.privateKey,
      addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'], ...(opts.announce ? { announce: opts.announce } : {}) },
      ...transportStack(),
      nodeInfo: { userAgent: USER_AGENT },
      services: services as never,
    })) as unknown as Libp2p<Services>;
    const node = new MeshNode(mesh, libp2p, topicOf(cluster), PublishedMark.load(mesh.store.layout.published), opts);
    node.wireDiscovery();
    node.wireGossip(opts.trusted ? new Set(opts.trusted) : undefined);
    sharedVerifier().warmUp(); // catch-up from peers checks datagrams on other cores; load them now
    mesh.store.setLockLease(LOCK_LEASE_MS);
    await node.sync.start();
    await node.publishBacklog();
    node.ticker = setInterval(() => node.tick(), TICK_MS);
    return node;
  }

  // ---- discovery and connections ----

  private wireDiscovery(): void {
    const { libp2p } = this;
    const sources: [FoundBy, PeerDiscovery | undefined][] = [
      ['bootstrap', libp2p.services.bootstrap],
      ['mdns', libp2p.services.mdns],
      ['dht', libp2p.services.dht],
    ];
    for (const [how, source] of sources) {
      source?.addEventListener('peer', (event) => this.discovered((event as CustomEvent<Libp2pPeerInfo>).detail.id, how));
    }
    libp2p.addEventListener('connection:open', (event) => {
      this.peers.connected(event.detail.remotePeer.toString(), event.detail.direction === 'inbound');
    });
    libp2p.addEventListener('peer:disconnect', (event) => this.peers.disconnected(event.detail.toString()));
  }

  private discovered(id: PeerId, how: FoundBy): void {
    if (id.equals(this.libp2p.peerId)) return;
    this.peers.found(id.toString(), how);
    if (libp2pConnected(this.libp2p, id)) this.peers.connected(id.toString(), false);
    this.dialDue();
  }

  /** libp2p does not dial what it discovers: dial every peer whose (re)dial is due. */
  private dialDue(): void {
    for (const peer of this.peers.due()) {
      if (this.stopped) return;
      withDialTimeout(DIAL_TIMEOUT_MS, (signal) => this.libp2p.dial(peerIdFromString(peer), { signal })).catch((err: Error) => {
        this.peers.dialFailed(peer);
        this.error(`dial ${peer}: ${err.message}`);
      });
    }
  }

  private tick(): void {
    if (this.stopped) return;
    this.dialDue();
    const every = this.opts.refreshMs ?? TICK_MS;
    if (every === 0 || this.refreshing || Date.now() - this.lastRefresh < every) return;
    this.refreshing = true;
    this.lastRefresh = Date.now();
    this.mesh
      .refresh()
      .catch((err: Error) => this.error(`refresh: ${err.message}`))
      .finally(() => (this.refreshing = false));
  }

  // ---- gossip ----

  private wireGossip(trusted: ReadonlySet<string> | undefined): void {
    const pubsub = this.libp2p.services.pubsub;
    const cluster = this.mesh.config.cluster;
    // synchronous on purpose: gossipsub's async validation path delivers before validating
    pubsub.topicValidators.set(this.topic, (from, message) => {
      this.peers.seen(from.toString());
      try {
        const envs = decodeMessage(message.data, cluster, trusted);
        this.validated.set(message.data, envs);
        return TopicValidatorResult.Accept;
      } catch (err) {
        this.stats.rejected++;
        this.error(`rejected a message from ${from}: ${(err as Error).message}`);
        return TopicValidatorResult.Reject;
      }
    });
    pubsub.addEventListener('message', (event) => {
      if (event.detail.topic !== this.topic) return;
      const data = event.detail.data;
      let envs = this.validated.get(data);
      this.validated.delete(data);
      if (this.opts.dropIncoming?.()) return;
      try {
        envs ??= decodeMessage(data, cluster, trusted);
      } catch {
        return;
      }
      this.stats.messagesReceived++;
      this.stats.received += envs.length;
      this.opts.onMessage?.(envs);
      this.inbox.push(...envs);
      this.importing ??= this.drainInbox();
    });
    pubsub.subscribe(this.topic);
    this.unsubscribe = this.mesh.subscribe((env, origin) => {
      if (origin !== 'local' || env.datagram.s <= this.mark.seq) return;
      this.outbox.push(env);
      this.publishing ??= this.drainOutbox();
    });
  }

  /** Applies received datagrams; messages that arrived together share one durable transaction. */
  private async drainInbox(): Promise<void> {
    await Promise.resolve();
    try {
      while (this.inbox.length && !this.stopped) {
        const envs = this.inbox.splice(0);
        try {
          const report = await this.mesh.importEnvelopes(envs);
          this.stats.applied += report.applied;
          for (const bad of report.invalid) this.error(`not applied: ${bad.id ?? '?'}: ${bad.reason}`);
          // a gap (a skipped sequence number, a missing parent): gossip lost something; fetch it now
          if (report.pending > 0) this.sync.pullAll();
        } catch (err) {
          this.error(`apply: ${(err as Error).message}`);
        }
        this.scheduleRender();
      }
    } finally {
      this.importing = undefined;
    }
  }

  /** cocli's files are re-rendered shortly after receipt: a burst for one entity renders it once. */
  private scheduleRender(): void {
    // during a large catch-up, files are rendered once at its end rather than every moment along the way
    if (this.renderTimer || this.stopped || this.sync.catchingUp || this.mesh.store.dirty.size === 0) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.mesh.flush().catch((err: Error) => this.error(`render: ${err.message}`));
    }, this.opts.renderDelayMs ?? 100);
  }

  /** What this node wrote while no gossip node ran on its data root (a CLI alone, or before a crash). */
  private async publishBacklog(): Promise<void> {
    const mine = this.mesh.peerId;
    if (this.mesh.store.index.lastSeq(mine) <= this.mark.seq) return;
    const since = { ...this.mesh.frontier(), [mine]: this.mark.seq };
    this.outbox.push(...(await this.mesh.store.transaction(() => this.mesh.datagramsSince(since))));
    this.publishing ??= this.drainOutbox();
  }

  /** Publishes this node's datagrams in sequence order, several to a message; each exactly once. */
  private async drainOutbox(): Promise<void> {
    await Promise.resolve(); // let datagrams written together gather in one message
    try {
      while (this.outbox.length && !this.stopped) {
        const envs = this.outbox
          .splice(0)
          .filter((e) => e.datagram.s > this.mark.seq)
          .sort((x, y) => x.datagram.s - y.datagram.s);
        if (!envs.length) continue;
        for (const data of encodeMessages(envs)) {
          try {
            await this.libp2p.services.pubsub.publish(this.topic, data);
            this.stats.messagesPublished++;
          } catch (err) {
            this.error(`publish: ${(err as Error).message}`);
          }
        }
        this.stats.published += envs.length;
        this.mark.advance(envs[envs.length - 1]!.datagram.s);
      }
    } finally {
      this.publishing = undefined;
    }
  }

  // ---- queries ----

  get peerId(): string {
    return this.libp2p.peerId.toString();
  }

  addresses(): string[] {
    return this.libp2p.getMultiaddrs().map(String);
  }

  /** PeerIDs currently subscribed to this cluster's topic. */
  topicPeers(): string[] {
    return this.libp2p.services.pubsub.getSubscribers(this.topic).map(String);
  }

  /** Every peer heard of: name (from _cluster), addresses, connected or not, how found, last seen. */
  async peerReport(): Promise<PeerReport[]> {
    const names = this.mesh.nodeNames();
    const out: PeerReport[] = [];
    for (const p of this.peers.list()) {
      let addresses: string[] = [];
      try {
        addresses = (await this.libp2p.peerStore.get(peerIdFromString(p.peerId))).addresses.map((a) => a.multiaddr.toString());
      } catch {
        // not in the peer store (yet)
      }
      const connected = libp2pConnected(this.libp2p, peerIdFromString(p.peerId));
      out.push({ ...p, connected, lastSeen: connected ? Date.now() : p.lastSeen, name: names[p.peerId], addresses, sync: this.sync.view(p.peerId) });
    }
    return out;
  }

  /**
   * Pings a peer by its PeerID alone: addresses come from the peer store (bootstrap, mDNS, identify) or,
   * when it holds none, from a DHT lookup. Returns round-trip times in ms.
   */
  async ping(peer: string, count = 3, timeoutMs = 10_000): Promise<{ rtts: number[]; via: FoundBy | 'peer store' }> {
    const id = peerIdFromString(peer);
    let via: FoundBy | 'peer store' = 'peer store';
    const known = (await this.libp2p.peerStore.has(id)) && (await this.libp2p.peerStore.get(id)).addresses.length > 0;
    if (!known && !libp2pConnected(this.libp2p, id)) {
      if (!this.libp2p.services.dht) throw new Error(`no address known for ${peer} and the DHT is off`);
      await this.libp2p.peerRouting.findPeer(id, { signal: AbortSignal.timeout(timeoutMs) });
      this.peers.found(peer, 'dht');
      via = 'dht';
    }
    const rtts: number[] = [];
    for (let i = 0; i < count; i++) rtts.push(await this.libp2p.services.ping.ping(id, { signal: AbortSignal.timeout(timeoutMs) }));
    return { rtts, via };
  }

  private error(message: string): void {
    this.stats.lastError = message;
    this.stats.lastErrorAt = Date.now();
  }

  /** Stops networking; publishes and applies nothing more, renders what was received, saves the mark. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    if (this.renderTimer) clearTimeout(this.renderTimer);
    this.unsubscribe?.();
    await this.sync.stop();
    await this.publishing;
    await this.importing;
    this.mark.save();
    await this.libp2p.stop();
    await this.mesh.flush();
    this.mesh.store.setLockLease(0);
  }
}

function libp2pConnected(libp2p: Libp2p<Services>, id: PeerId): boolean {
  return libp2p.getConnections(id).length > 0;
}
