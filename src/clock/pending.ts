// The pending set: datagrams that arrived before their causal dependencies (parents, or the author's
// previous sequence number). Bounded; releases datagrams in causal order as dependencies are applied.
import type { Envelope } from '../datagram/types.js';

export type Dependency = string; // 'cid:<cid>' or 'seq:<author hex>:<seq>'

export const cidDependency = (id: string): Dependency => `cid:${id}`;
export const seqDependency = (authorHex: string, seq: number): Dependency => `seq:${authorHex}:${seq}`;

interface Waiting {
  env: Envelope;
  missing: number;
}

export class PendingSet {
  private readonly waiting = new Map<string, Waiting>();
  private readonly waiters = new Map<Dependency, Set<string>>();
  private totalBytes = 0;

  constructor(readonly maxCount = 100_000, readonly maxBytes = 256 * 1024 * 1024) {}

  /** the waiting datagrams' bytes */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.waiting.size;
  }

  has(id: string): boolean {
    return this.waiting.has(id);
  }

  /** Parks a datagram until every dependency in `missing` is released. False when full or already parked. */
  park(env: Envelope, missing: readonly Dependency[]): boolean {
    if (this.waiting.has(env.id)) return false;
    if (this.waiting.size >= this.maxCount || this.totalBytes + env.bytes.length > this.maxBytes) return false;
    this.waiting.set(env.id, { env, missing: missing.length });
    this.totalBytes += env.bytes.length;
    for (const dep of missing) {
      let set = this.waiters.get(dep);
      if (!set) this.waiters.set(dep, (set = new Set()));
      set.add(env.id);
    }
    return true;
  }

  /** Marks dependencies as satisfied; returns the datagrams that became ready, removed from the set. */
  release(deps: readonly Dependency[]): Envelope[] {
    const ready: Envelope[] = [];
    for (const dep of deps) {
      const ids = this.waiters.get(dep);
      if (!ids) continue;
      this.waiters.delete(dep);
      for (const id of ids) {
        const w = this.waiting.get(id);
        if (w && --w.missing === 0) {
          this.waiting.delete(id);
          this.totalBytes -= w.env.bytes.length;
          ready.push(w.env);
        }
      }
    }
    return ready;
  }

  /** Removes a parked datagram whose dependencies turned out to be satisfied already. */
  forget(id: string): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    this.totalBytes -= w.env.bytes.length;
    for (const ids of this.waiters.values()) ids.delete(id);
  }

  /** Every parked datagram (for persisting the set). */
  all(): Envelope[] {
    return [...this.waiting.values()].map((w) => w.env);
  }

  /** The dependencies nothing has released yet: what to fetch from peers. */
  wanted(): Dependency[] {
    return [...this.waiters.keys()];
  }
}
