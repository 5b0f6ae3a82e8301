// Where everything lives under a data root. cocli's own files sit where cocli expects them; our files
// are `updates/mesh.log` and `updates/mesh.rendered` in each entity folder, and `.mesh/` at the root.
import path from 'node:path';
import { CLUSTER_ENTITY } from '../datagram/entity.js';

export const MESH_DIR = '.mesh';
export const ENTITY_LOG = 'mesh.log';
const RECENT_PATHS = 4096;

export class Layout {
  constructor(readonly root: string) {}

  get mesh(): string {
    return path.join(this.root, MESH_DIR);
  }
  get keyFile(): string {
    return path.join(this.mesh, 'key');
  }
  get configFile(): string {
    return path.join(this.mesh, 'config.json');
  }
  get journal(): string {
    return path.join(this.mesh, 'journal.log');
  }
  get index(): string {
    return path.join(this.mesh, 'index.log');
  }
  get indexSnapshot(): string {
    return path.join(this.mesh, 'index.snapshot');
  }
  get renderMarks(): string {
    return path.join(this.mesh, 'rendered.log');
  }
  /** inodes of replaced cocli files, kept for reuse (spare-inodes.ts) */
  get spareInodes(): string {
    return path.join(this.mesh, 'spare');
  }
  get pending(): string {
    return path.join(this.mesh, 'pending.log');
  }
  /** the highest sequence number of this node's own datagrams that its gossip node has published */
  get published(): string {
    return path.join(this.mesh, 'published.json');
  }
  /** where a running daemon says how to reach it (PID, control socket, PeerID, addresses) */
  get daemonInfo(): string {
    return path.join(this.mesh, 'daemon.json');
  }
  /** a folder only the owner may enter (0700), holding the daemon's control socket */
  get controlDir(): string {
    return path.join(this.mesh, 'control');
  }
  get controlSocket(): string {
    return path.join(this.controlDir, 'daemon.sock');
  }
  get lockTarget(): string {
    return this.mesh;
  }

  /** The folder of an entity: companies/<slug>, people/<slug>, or .mesh/cluster for _cluster. */
  entityDir(entity: string): string {
    return this.pathsOf(entity).dir;
  }
  updatesDir(entity: string): string {
    return this.pathsOf(entity).updates;
  }
  entityLog(entity: string): string {
    return this.pathsOf(entity).log;
  }

  /** an entity's folders and log, joined once for the entities seen last (every datagram asks) */
  private pathsOf(entity: string): { dir: string; updates: string; log: string } {
    let paths = this.recentPaths.get(entity);
    if (!paths) {
      const dir = entity === CLUSTER_ENTITY ? path.join(this.mesh, 'cluster') : path.join(this.root, ...entity.split('/'));
      const updates = path.join(dir, 'updates');
      paths = { dir, updates, log: path.join(updates, ENTITY_LOG) };
      if (this.recentPaths.size >= RECENT_PATHS) this.recentPaths.clear();
      this.recentPaths.set(entity, paths);
    }
    return paths;
  }
  private readonly recentPaths = new Map<string, { dir: string; updates: string; log: string }>();
  get historyDir(): string {
    return path.join(this.mesh, 'history');
  }
  get compactionJournal(): string {
    return path.join(this.mesh, 'compaction.journal');
  }
  /** the boot in which the whole journal was last checked against the entity logs and the index */
  get journalChecked(): string {
    return path.join(this.mesh, 'journal-checked.json');
  }
  get compactionMarker(): string {
    return path.join(this.mesh, 'compaction.json');
  }
}
