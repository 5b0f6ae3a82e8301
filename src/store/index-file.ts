// The local index: which datagrams this data root holds, by CID and by (author, sequence number),
// in the order they were applied (a causal order). Derived data: rebuildable from the entity logs.
// File form (.mesh/index.log): a generation header, then one line per datagram: "<cid> <author> <seq> <entity>".
//
// In memory it holds no object per datagram (a data root can hold millions): CID digests in one byte
// array, author/sequence/entity numbers in typed arrays, and an open-addressing hash table on the digest.
import { CID } from 'multiformats/cid';
import { base32 } from 'multiformats/bases/base32';
import type { Frontier } from '../clock/frontier.js';
import fs from 'node:fs';
import { GenerationalLog } from './genlog.js';
import { DATAGRAM_CID_HEAD, parseCid, sha256CborCidText } from '../datagram/cid-cache.js';
import { writeFileAtomic } from './atomic.js';

export interface IndexEntry {
  id: string;
  author: string; // PeerID
  seq: number;
  entity: string;
}

const DIGEST = 32;
const SHA2_256 = 0x12;
const EMPTY = -1;
/**
 * A typical index line's length: CID (59), PeerID (52), sequence number, entity path, spaces, newline.
 * Used to size the arrays for a file; an underestimate costs one more doubling, an overestimate memory.
 */
const TYPICAL_LINE_BYTES = 150;

/** the length of such a CID's string form: "b" and base32 of 36 bytes */
const DATAGRAM_CID_LENGTH = 59;

function digestOf(id: string): Uint8Array | undefined {
  // the common case, a datagram's CID in base32, is decoded without building a CID object (5x cheaper:
  // loading an index of a million lines spends most of its time here)
  if (id.length === DATAGRAM_CID_LENGTH && id[0] === 'b') {
    let bytes: Uint8Array | undefined;
    try {
      bytes = base32.decode(id);
    } catch {
      return undefined;
    }
    if (bytes.length === DATAGRAM_CID_HEAD.length + DIGEST && DATAGRAM_CID_HEAD.every((b, i) => bytes![i] === b)) return bytes.subarray(DATAGRAM_CID_HEAD.length);
  }
  try {
    const d = parseCid(id).multihash.digest;
    return d.length === DIGEST ? d : undefined;
  } catch {
    return undefined;
  }
}

/** Interns strings as small numbers. */
class Names {
  readonly list: string[] = [];
  private readonly ids = new Map<string, number>();
  id(name: string): number {
    let n = this.ids.get(name);
    if (n === undefined) this.ids.set(name, (n = this.list.push(name) - 1));
    return n;
  }
  find(name: string): number | undefined {
    return this.ids.get(name);
  }
}

export class DatagramIndex {
  private count = 0;
  private digests = new Uint8Array(1024 * DIGEST);
  private authorOf = new Uint32Array(1024);
  private seqOf = new Uint32Array(1024);
  private entityOf = new Uint32Array(1024);
  private table = new Int32Array(2048).fill(EMPTY);
  private authors = new Names();
  private entityNames = new Names();
  /** per author number: positions by sequence number - 1 */
  private bySeq: number[][] = [];
  private staged: IndexEntry[] = [];
  private readonly log: GenerationalLog;

  constructor(file: string) {
    this.log = new GenerationalLog(file);
  }

  get size(): number {
    return this.count;
  }

  private slotOf(digest: Uint8Array): number {
    const mask = this.table.length - 1;
    // sha2-256 output is uniform: its first four bytes are a good hash
    let slot = (digest[0]! | (digest[1]! << 8) | (digest[2]! << 16) | (digest[3]! << 24)) & mask;
    for (;;) {
      const pos = this.table[slot]!;
      if (pos === EMPTY || this.digestEquals(pos, digest)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /**
   * Puts an entry already in the arrays into the table (loading a snapshot, growing): its digest is known
   * to be unique, so it takes the first free slot without comparing digests.
   */
  private place(pos: number): void {
    const mask = this.table.length - 1;
    const d = this.digests;
    const base = pos * DIGEST;
    let slot = (d[base]! | (d[base + 1]! << 8) | (d[base + 2]! << 16) | (d[base + 3]! << 24)) & mask;
    while (this.table[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.table[slot] = pos;
  }

  private digestEquals(pos: number, digest: Uint8Array): boolean {
    const base = pos * DIGEST;
    for (let i = 0; i < DIGEST; i++) if (this.digests[base + i] !== digest[i]) return false;
    return true;
  }

  private positionOf(id: string | CID): number {
    // a CID object carries its digest: no need to parse a string form back
    const digest = typeof id === 'string' ? digestOf(id) : id.multihash.digest.length === DIGEST ? id.multihash.digest : undefined;
    if (!digest) return EMPTY;
    return this.table[this.slotOf(digest)]!;
  }

  has(id: string | CID): boolean {
    return this.positionOf(id) !== EMPTY;
  }

  get(id: string): IndexEntry | undefined {
    const pos = this.positionOf(id);
    if (pos === EMPTY) return undefined;
    const entry = this.entryAt(pos);
    entry.id = id; // the caller's form of the CID
    return entry;
  }

  /** The entry applied at position `pos` (0 = first). */
  entryAt(pos: number): IndexEntry {
    return { id: sha256CborCidText(this.digests, pos * DIGEST), author: this.authorAt(pos), seq: this.seqOf[pos]!, entity: this.entityAt(pos) };
  }

  authorAt(pos: number): string {
    return this.authors.list[this.authorOf[pos]!]!;
  }

  seqAt(pos: number): number {
    return this.seqOf[pos]!;
  }

  entityAt(pos: number): string {
    return this.entityNames.list[this.entityOf[pos]!]!;
  }

  cidAt(author: string, seq: number): string | undefined {
    const a = this.authors.find(author);
    const pos = a === undefined ? undefined : this.bySeq[a]?.[seq - 1];
    return pos === undefined ? undefined : this.entryAt(pos).id;
  }

  lastSeq(author: string): number {
    const a = this.authors.find(author);
    return a === undefined ? 0 : (this.bySeq[a]?.length ?? 0);
  }

  /**
   * Positions of the datagrams a node with frontier `since` lacks, ascending (so in a causal order). Costs
   * what is missing, not the size of the index: one missing datagram among millions is found at once.
   */
  positionsSince(since: Frontier): number[] {
    const out: number[] = [];
    this.authors.list.forEach((author, a) => {
      const positions = this.bySeq[a] ?? [];
      for (let s = since[author] ?? 0; s < positions.length; s++) out.push(positions[s]!);
    });
    return out.sort((x, y) => x - y);
  }

  frontier(): Frontier {
    const out: Frontier = {};
    this.authors.list.forEach((author, a) => {
      if (this.bySeq[a]?.length) out[author] = this.bySeq[a]!.length;
    });
    return out;
  }

  /** CIDs in application order (a causal order); builds strings for every datagram, so for small roots and tests. */
  ordered(): string[] {
    return Array.from({ length: this.count }, (_, pos) => this.entryAt(pos).id);
  }

  /** Whether any datagram of this entity is indexed (or was staged in this process). */
  hasEntity(entity: string): boolean {
    return this.entityNames.find(entity) !== undefined;
  }

  entities(): Set<string> {
    const out = new Set<string>();
    for (let pos = 0; pos < this.count; pos++) out.add(this.entityAt(pos));
    return out;
  }

  /**
   * Saves the in-memory index as a binary snapshot (a JSON header line, then the digest and number
   * arrays), so the next process loads it in milliseconds and reads only the log lines after it.
   */
  saveSnapshot(file: string): void {
    const n = this.count;
    const header = Buffer.from(JSON.stringify({ version: 1, ...this.log.position, count: n, authors: this.authors.list, entities: this.entityNames.list }) + '\n');
    const parts = [header, this.digests.subarray(0, n * DIGEST), new Uint8Array(this.authorOf.buffer, 0, n * 4), new Uint8Array(this.seqOf.buffer, 0, n * 4), new Uint8Array(this.entityOf.buffer, 0, n * 4)];
    writeFileAtomic(file, Buffer.concat(parts), { fsync: false });
  }

  /** Loads a snapshot saved by saveSnapshot; false (nothing changed) when it is missing or unusable. */
  loadSnapshot(file: string): boolean {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      return false;
    }
    const nl = buf.indexOf(0x0a);
    if (nl < 0) return false;
    let h: { version: number; generation: string; offset: number; count: number; authors: string[]; entities: string[] };
    try {
      h = JSON.parse(buf.toString('utf8', 0, nl));
    } catch {
      return false;
    }
    const n = h.count;
    const start = nl + 1;
    if (h.version !== 1 || buf.length !== start + n * (DIGEST + 12)) return false;
    this.clear();
    this.reserve(n + 1);
    const copy = new Uint8Array(buf.buffer, buf.byteOffset + start, n * (DIGEST + 12)).slice();
    this.digests.set(copy.subarray(0, n * DIGEST));
    this.authorOf.set(new Uint32Array(copy.buffer, n * DIGEST, n));
    this.seqOf.set(new Uint32Array(copy.buffer, n * DIGEST + n * 4, n));
    this.entityOf.set(new Uint32Array(copy.buffer, n * DIGEST + n * 8, n));
    for (const a of h.authors) this.authors.id(a);
    for (const e of h.entities) this.entityNames.id(e);
    this.count = n;
    for (let pos = 0; pos < n; pos++) {
      this.place(pos);
      (this.bySeq[this.authorOf[pos]!] ??= [])[this.seqOf[pos]! - 1] = pos;
    }
    this.log.resume({ generation: h.generation, offset: h.offset });
    return true;
  }

  /** Changes whenever the file is rebuilt, so positions in it are only comparable within one generation. */
  get generation(): string {
    return this.log.generationId;
  }

  exists(): boolean {
    return this.log.size() > 0;
  }

  /**
   * Follows the file: returns the entities whose datagrams another process added since we last looked,
   * or 'reset' when the file was replaced (all in-memory state was reloaded).
   */
  refresh(): Set<string> | 'reset' {
    const touched = new Set<string>();
    let wasReset = false;
    // in chunks: a large index file is never held in memory whole
    for (;;) {
      const { lines, reset } = this.log.readNew(8 * 1024 * 1024);
      if (reset) {
        this.clear();
        wasReset = true;
        // sized once from the file (lines are about this long) instead of doubling and rehashing ~20 times
        this.reserve(Math.ceil(this.log.size() / TYPICAL_LINE_BYTES));
      }
      if (lines.length === 0) break;
      for (const line of lines) {
        const [id, author, seq, entity] = line.split(' ');
        if (!id || !author || !seq || !entity) continue; // unreadable line: a rebuild will restore it
        if (this.remember({ id, author, seq: Number(seq), entity }) && !wasReset) touched.add(entity);
      }
    }
    return wasReset ? 'reset' : touched;
  }

  /** Records an applied datagram in memory (`cid`: e.id's CID, when at hand); `persist` writes the staged ones to the file. */
  stage(e: IndexEntry, cid?: CID): void {
    const hash = cid?.multihash;
    this.remember(e, hash?.code === SHA2_256 && hash.digest.length === DIGEST ? hash.digest : undefined); // not decoded from e.id again
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

  /** Replaces the file with exactly these entries (a rebuild). */
  rewrite(entries: readonly IndexEntry[]): void {
    this.clear();
    for (const e of entries) this.remember(e);
    this.log.replace(entries.map((e) => `${e.id} ${e.author} ${e.seq} ${e.entity}\n`).join(''));
  }

  private clear(): void {
    this.count = 0;
    this.table.fill(EMPTY);
    this.authors = new Names();
    this.entityNames = new Names();
    this.bySeq = [];
  }

  /** Makes room for `n` entries in all with one resize (capacity stays a power of two). */
  private reserve(n: number): void {
    let cap = this.authorOf.length;
    while (cap < n) cap *= 2;
    if (cap > this.authorOf.length) this.grow(cap);
  }

  /** Resizes to `cap` entries (a power of two, at least the count): copies the arrays, rehashes the table. */
  private grow(cap = this.authorOf.length * 2): void {
    const digests = new Uint8Array(cap * DIGEST);
    digests.set(this.digests);
    this.digests = digests;
    for (const name of ['authorOf', 'seqOf', 'entityOf'] as const) {
      const next = new Uint32Array(cap);
      next.set(this[name]);
      this[name] = next;
    }
    this.table = new Int32Array(cap * 2).fill(EMPTY);
    for (let pos = 0; pos < this.count; pos++) this.place(pos);
  }

  /** Adds an entry; false when it was already there (or its CID is not a sha2-256 CID). */
  private remember(e: IndexEntry, known?: Uint8Array): boolean {
    const digest = known ?? digestOf(e.id);
    if (!digest) return false;
    if (this.count + 1 > this.authorOf.length) this.grow();
    const slot = this.slotOf(digest);
    if (this.table[slot] !== EMPTY) return false;
    const pos = this.count++;
    this.table[slot] = pos;
    this.digests.set(digest, pos * DIGEST);
    const a = this.authors.id(e.author);
    this.authorOf[pos] = a;
    this.seqOf[pos] = e.seq;
    this.entityOf[pos] = this.entityNames.id(e.entity);
    (this.bySeq[a] ??= [])[e.seq - 1] = pos;
    return true;
  }
}
