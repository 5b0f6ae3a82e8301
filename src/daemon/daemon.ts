// The daemon: one long-running process per data root that runs the libp2p node, renders cocli's files
// shortly after datagrams arrive, takes writes from the CLI over the control socket, compacts under the
// config's policy, and stops cleanly on SIGINT/SIGTERM or a `stop` request.
import { Mesh } from '../mesh/mesh.js';
import { MeshNode, type NodeStats } from '../net/node.js';
import type { SyncView } from '../net/sync.js';
import { InvalidDatagramError } from '../datagram/errors.js';
import { ConfigError } from '../identity/identity.js';
import { buildOps, UsageError } from '../cli/ops.js';
import { logJson } from '../cli/format.js';
import { Layout } from '../store/paths.js';
import { ControlServer, runningDaemon, type ControlRequest, type ControlResponse } from './control.js';
import { daemonConfig, type DaemonConfig, type DaemonOverrides } from './config.js';

export interface DaemonOptions extends DaemonOverrides {
  /** one line per notable event (default: none) */
  log?: (line: string) => void;
  /** test hook passed to the node: drop received messages */
  dropIncoming?: () => boolean;
}

export interface DaemonStatus extends Omit<NodeStats, 'lastError' | 'lastErrorAt'> {
  peerId: string;
  name: string;
  cluster: string;
  root: string;
  pid: number;
  uptimeSeconds: number;
  listen: string[];
  discovery: { mdns: boolean; dht: boolean; bootstrap: string[] };
  peers: { known: number; connected: number; topic: number };
  datagrams: number;
  frontier: Record<string, number>;
  lastError: string | null;
  lastErrorAt: string | null;
  /** per peer: the last sync, and whether its last known frontier equals ours */
  sync: ({ peerId: string; name: string | null; connected: boolean } & SyncView)[];
}

export class Daemon {
  private compactTimer?: NodeJS.Timeout;
  private server?: ControlServer;
  private stopping?: Promise<void>;
  private readonly started = Date.now();
  /** resolves when the daemon has stopped (by stop(), a signal or a control request) */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  private constructor(
    readonly mesh: Mesh,
    readonly node: MeshNode,
    readonly config: DaemonConfig,
    private readonly log: (line: string) => void,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  static async start(root: string, opts: DaemonOptions = {}): Promise<Daemon> {
    const other = runningDaemon(root);
    if (other) throw new ConfigError(`a daemon already runs on ${root} (PID ${other.pid})`);
    const mesh = await Mesh.open(root, { render: 'deferred' });
    const config = daemonConfig(mesh.config, new Layout(root).configFile, opts);
    const log = opts.log ?? (() => undefined);
    const node = await MeshNode.start(mesh, {
      listen: config.listen,
      bootstrap: config.bootstrap,
      mdns: config.mdns,
      dht: config.dht,
      trusted: config.trusted,
      dropIncoming: opts.dropIncoming,
    });
    const daemon = new Daemon(mesh, node, config, log);
    try {
      daemon.server = await ControlServer.listen(
        root,
        { pid: process.pid, peerId: node.peerId, addresses: node.addresses(), started: new Date().toISOString() },
        (req) => daemon.handle(req),
        classify,
      );
    } catch (err) {
      await node.stop();
      throw err;
    }
    if (config.compactEveryMinutes > 0) {
      daemon.compactTimer = setInterval(() => void daemon.autoCompact(), config.compactEveryMinutes * 60_000);
      daemon.compactTimer.unref();
    }
    node.libp2p.addEventListener('peer:connect', (e) => log(`connected ${describe(mesh, e.detail.toString())}`));
    node.libp2p.addEventListener('peer:disconnect', (e) => log(`disconnected ${describe(mesh, e.detail.toString())}`));
    log(`node ${mesh.config.name} ${node.peerId} cluster ${mesh.config.cluster}`);
    for (const a of node.addresses()) log(`listening on ${a}`);
    return daemon;
  }

  private async autoCompact(): Promise<void> {
    try {
      const summary = await this.mesh.compact({ auto: true });
      if (summary.compacted) this.log(`compacted ${summary.compacted} entities (${summary.folded} datagrams)`);
    } catch (err) {
      this.log(`compaction failed: ${(err as Error).message}`);
    }
  }

  private async handle(req: ControlRequest): Promise<unknown> {
    switch (req.cmd) {
      case 'update': {
        const { entity, args } = req;
        const env = await this.mesh.updateWith(entity, (view) => buildOps(entity, args, view));
        // a CLI caller expects cocli's files updated when it returns, as without a daemon
        await this.mesh.flush();
        const warnings = this.mesh.warnings.splice(0);
        return { datagram: env ? logJson(this.mesh, env) : null, warnings };
      }
      case 'status':
        await this.node.sync.syncNow(); // a fresh frontier from every connected peer: the truth, not a memory
        return await this.status();
      case 'peers':
        return this.node.peerReport();
      case 'ping':
        return this.node.ping(req.peer, req.count);
      case 'stop':
        setImmediate(() => void this.stop());
        return { stopping: true };
      default:
        throw new UsageError(`unknown control request ${JSON.stringify((req as { cmd?: unknown }).cmd)}`);
    }
  }

  async status(): Promise<DaemonStatus> {
    const { stats } = this.node;
    const { lastError: _e, lastErrorAt: _t, ...counters } = stats;
    const peers = await this.node.peerReport();
    return {
      peerId: this.node.peerId,
      name: this.mesh.config.name,
      cluster: this.mesh.config.cluster,
      root: this.mesh.root,
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - this.started) / 1000),
      listen: this.node.addresses(),
      discovery: { mdns: this.config.mdns, dht: this.config.dht, bootstrap: this.config.bootstrap },
      peers: { known: peers.length, connected: this.node.libp2p.getPeers().length, topic: this.node.topicPeers().length },
      datagrams: this.mesh.store.index.size,
      frontier: this.mesh.frontier(),
      ...counters,
      lastError: stats.lastError ?? null,
      lastErrorAt: stats.lastErrorAt ? new Date(stats.lastErrorAt).toISOString() : null,
      sync: peers.map((p) => ({ peerId: p.peerId, name: p.name ?? null, connected: p.connected, ...p.sync })),
    };
  }

  /** Stops: no more control requests, networking off, received datagrams rendered, files closed. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.compactTimer) clearInterval(this.compactTimer);
      await this.server?.close();
      await this.node.stop();
      await this.mesh.close();
      this.log('stopped');
      this.resolveDone();
    })();
    return this.stopping;
  }
}

function describe(mesh: Mesh, peerId: string): string {
  const name = mesh.nodeNames()[peerId];
  return name ? `${name} (${peerId})` : peerId;
}

/** Maps an error to the kind the CLI turns into its exit code. */
function classify(err: Error): ControlResponse {
  if (err instanceof UsageError || err instanceof InvalidDatagramError) return { ok: false, kind: 'usage', error: err.message };
  return { ok: false, kind: 'failure', error: err.message };
}
