// The libp2p node of a data root: the node's own key as its PeerID, TCP + noise + yamux, identify, ping,
// and one gossipsub topic per cluster. Datagrams written on this data root are published at once; received
// ones pass a synchronous validator (invalid messages are rejected: not delivered, not forwarded, and they
// count against the sender's peer score) and are applied through the same pipeline as local writes.
import './polyfill.js';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import type { Mesh } from '../mesh/mesh.js';
import type { Envelope } from '../datagram/types.js';
import { decodeMessage, encodeMessages, topicOf } from './gossip.js';

export interface MeshNodeOptions {
  /** listen multiaddrs (default: TCP on 127.0.0.1, a free port) */
  listen?: string[];
  /** multiaddrs (with /p2p/<PeerID>) to dial at start */
  bootstrap?: string[];
  /** when given, only datagrams by these PeerIDs are accepted */
  trusted?: string[];
  /** how often to pick up datagrams written on this data root by other processes (a CLI); 0 = never */
  refreshMs?: number;
}

export interface NodeStats {
  published: number;
  received: number;
  rejected: number;
  lastError?: string;
}

type Services = { pubsub: GossipSub; identify: unknown; ping: unknown };

export class MeshNode {
  readonly stats: NodeStats = { published: 0, received: 0, rejected: 0 };
  private unsubscribe?: () => void;
  private outbox: Envelope[] = [];
  private flushing = false;
  private timer?: NodeJS.Timeout;

  private constructor(readonly mesh: Mesh, readonly libp2p: Libp2p<Services>, readonly topic: string) {}

  static async start(mesh: Mesh, opts: MeshNodeOptions = {}): Promise<MeshNode> {
    const libp2p = await createLibp2p({
      privateKey: mesh.identity.privateKey,
      addresses: { listen: opts.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
      },
    });
    const node = new MeshNode(mesh, libp2p as unknown as Libp2p<Services>, topicOf(mesh.config.cluster));
    node.wire(opts.trusted ? new Set(opts.trusted) : undefined);
    const every = opts.refreshMs ?? 250;
    if (every > 0) {
      node.timer = setInterval(() => void mesh.refresh().catch((err: Error) => (node.stats.lastError = `refresh: ${err.message}`)), every);
    }
    for (const addr of opts.bootstrap ?? []) {
      await libp2p.dial(multiaddr(addr)).catch((err: Error) => (node.stats.lastError = `dial ${addr}: ${err.message}`));
    }
    return node;
  }

  private wire(trusted: ReadonlySet<string> | undefined): void {
    const pubsub = this.libp2p.services.pubsub;
    const cluster = this.mesh.config.cluster;
    // synchronous on purpose: gossipsub's async validation path delivers before validating
    pubsub.topicValidators.set(this.topic, (_peer, message) => {
      try {
        decodeMessage(message.data, cluster, trusted);
        return TopicValidatorResult.Accept;
      } catch (err) {
        this.stats.rejected++;
        this.stats.lastError = `rejected a message: ${(err as Error).message}`;
        return TopicValidatorResult.Reject;
      }
    });
    pubsub.addEventListener('message', (event) => {
      if (event.detail.topic !== this.topic) return;
      let envs: Envelope[];
      try {
        envs = decodeMessage(event.detail.data, cluster, trusted); // validated already; decoded again for the bytes
      } catch {
        return;
      }
      this.stats.received += envs.length;
      this.mesh.importDatagrams(envs.map((e) => ({ bytes: e.bytes, cid: e.cid }))).catch((err: Error) => (this.stats.lastError = err.message));
    });
    pubsub.subscribe(this.topic);
    this.unsubscribe = this.mesh.subscribe((env, origin) => {
      if (origin !== 'local') return;
      this.outbox.push(env);
      queueMicrotask(() => void this.flush());
    });
  }

  /** Publishes what was written locally; datagrams written together share messages. */
  private async flush(): Promise<void> {
    if (this.flushing || this.outbox.length === 0) return;
    this.flushing = true;
    try {
      while (this.outbox.length) {
        const envs = this.outbox.splice(0);
        for (const data of encodeMessages(envs)) {
          try {
            await this.libp2p.services.pubsub.publish(this.topic, data);
          } catch (err) {
            this.stats.lastError = `publish: ${(err as Error).message}`;
          }
        }
        this.stats.published += envs.length;
      }
    } finally {
      this.flushing = false;
    }
  }

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

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unsubscribe?.();
    await this.libp2p.stop();
  }
}
