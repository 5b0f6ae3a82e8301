// The local index: which datagrams this data root holds, by CID and by (author, sequence number),
// in the order they were applied (a causal order). Derived data: rebuildable from the entity logs.
// File form (.mesh/index.log): a generation header, then one line per datagram: "<cid> <author> <seq> <entity>".
import type { Frontier } from '../clock/frontier.js';
import { GenerationalLog } from './genlog.js';

export interface IndexEntry {
  id: string;
  author: string; // PeerID
  seq: number;
  entity: string;
}

export class DatagramIndex {
  private readonly byCid = new Map<string, IndexEntry>();
  private readonly bySeq = new Map<string, string[]>();
  private order: string[] = [];
  private staged: IndexEntry[] = [];
  private readonly strings = new Map<string, string>();
  private readonly log: GenerationalLog;

  constructor(file: string) {
    this.log = new GenerationalLog(file);
  }

  get size(): number {
    return this.order.length;
  }

  has(id: string): boolean {
    return this.byCid.has(id);
  }

  get(id: string): IndexEntry | undefined {
    return this.byCid.get(id);
  }

  cidAt(author: string, seq: number): string | undefined {
    return this.bySeq.get(author)?.[seq - 1];
  }

  lastSeq(author: string): number {
    return this.bySeq.get(author)?.length ?? 0;
  }

  frontier(): Frontier {
    const out: Frontier = {};
    for (const [author, cids] of this.bySeq) out[author] = cids.length;
    return out;
  }

  /** CIDs in application order (a causal order). */
  ordered(): readonly string[] {
    return this.order;
  }

  entities(): Set<string> {
    const out = new Set<string>();
    for (const e of this.byCid.values()) out.add(e.entity);
    return out;
  }

  /**
   * Follows the file: returns the entities whose datagrams another process added since we last looked,
   * or 'reset' when the file was replaced (all in-memory state was reloaded).
   */
  refresh(): Set<string> | 'reset' {
    const { lines, reset } = this.log.readNew();
    if (reset) this.clear();
    const touched = new Set<string>();
    for (const line of lines) {
      const [id, author, seq, entity] = line.split(' ');
      if (!id || !author || !seq || !entity) continue; // unreadable line: a rebuild will restore it
      this.remember({ id, author: this.intern(author), seq: Number(seq), entity: this.intern(entity) });
      touched.add(entity);
    }
    return reset ? 'reset' : touched;
  }

  /** Records an applied datagram in memory; `persist` writes the staged ones to the file. */
  stage(e: IndexEntry): void {
    this.remember(e);
    this.staged.push(e);
  }

  persist(): void {
    const text = this.staged.map((e) => `${e.id} ${e.author} ${e.seq} ${e.entity}\n`).join('');
    this.staged = [];
    if (text) this.log.append(text);
  }

  /** Forgets staged entries that could not be persisted, by reloading from the file. */
  discardStaged(): void {
    this.staged = [];
    this.clear();
    this.log.forget();
    this.refresh();
  }

  /** Changes whenever the file is rebuilt, so positions in it are only comparable within one generation. */
  get generation(): string {
    return this.log.generationId;
  }

  exists(): boolean {
    return this.log.size() > 0;
  }

  /** Replaces the file with exactly these entries (a rebuild). */
  rewrite(entries: readonly IndexEntry[]): void {
    this.clear();
    for (const e of entries) this.remember(e);
    this.log.replace(entries.map((e) => `${e.id} ${e.author} ${e.seq} ${e.entity}\n`).join(''));
  }

  private clear(): void {
    this.byCid.clear();
    this.bySeq.clear();
    this.order = [];
  }

  /** One string per author and entity, shared by all their entries (the index can hold millions). */
  private intern(s: string): string {
    let x = this.strings.get(s);
    if (x === undefined) this.strings.set(s, (x = s));
    return x;
  }

  private remember(e: IndexEntry): void {
    if (this.byCid.has(e.id)) return;
    let seqs = this.bySeq.get(e.author);
    if (!seqs) this.bySeq.set(e.author, (seqs = []));
    seqs[e.seq - 1] = e.id;
    this.byCid.set(e.id, e);
    this.order.push(e.id);
  }
}
