// Signs large batches of this node's own writes on another core (see sign-worker.ts). The main thread
// plans each datagram (sequence number, Lamport number, parents, time), sends the plans in chunks, and
// applies each chunk's signed datagrams as they come back while the worker signs the next: signing,
// encoding and hashing were about 40% of a batched write's cost, all of it on the main thread. The main
// thread signs a share of whole entities itself (entitiesSignedHere), so neither thread waits long.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Op } from '../datagram/types.js';

/** A datagram to sign: every field but the author (the worker's key) and the signature. */
export interface SignPlan {
  v: number;
  c: string;
  e: string;
  o: Op[];
  s: number;
  l: number;
  t: number;
  /** parent CIDs as bytes; absent: the previous datagram of the same entity in this batch */
  p?: Uint8Array[];
}

export interface SignJob {
  id: number;
  /** chains (absent parents) continue only within one batch */
  batch: number;
  items: SignPlan[];
}

/**
 * A signed chunk, as the worker hands it over: per datagram, in the order planned, its canonical bytes,
 * its CID's bytes and its log record line (UTF-8, records.ts) one after another in `data`, their
 * lengths three by three in `lengths`; and the CIDs' text forms (base32 costs this thread nothing there).
 */
export interface SignedChunk {
  data: Uint8Array;
  lengths: Uint32Array;
  ids: string[];
}

export interface SignedItem {
  bytes: Uint8Array;
  cid: Uint8Array;
  id: string;
  /** its log record line, UTF-8: a view into `buffer`, the chunk's buffer */
  line: Uint8Array;
  buffer: ArrayBuffer;
}

/**
 * The datagrams of a chunk. Each datagram's bytes and CID are copied out into memory of their own (they
 * live as long as the datagram); its line stays a view into the chunk's buffer, which goes back to the
 * worker (`recycle`) once the lines are written.
 */
export function itemsOf(chunk: SignedChunk): SignedItem[] {
  const { data, lengths, ids } = chunk;
  const out: SignedItem[] = [];
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const own = data.slice(at, (at += lengths[3 * i]! + lengths[3 * i + 1]!));
    const bytes = own.subarray(0, lengths[3 * i]!);
    const cid = own.subarray(lengths[3 * i]!);
    const line = data.subarray(at, (at += lengths[3 * i + 2]!));
    out.push({ bytes, cid, id: ids[i]!, line, buffer: data.buffer as ArrayBuffer });
  }
  return out;
}

/**
 * Whole entities of a batch, about `share` of its datagrams (never more than 1.2 times that), for the
 * calling thread to sign itself while the worker signs the rest. An entity's chain of datagrams in a
 * batch is signed by one thread: each names the one before it as parent.
 */
export function entitiesSignedHere(requests: readonly { entity: string }[], share: number): Set<string> {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.entity, (counts.get(r.entity) ?? 0) + 1);
  const here = new Set<string>();
  let taken = 0;
  const target = requests.length * share;
  for (const [entity, n] of counts) {
    if (taken >= target) break;
    if (taken + n > target * 1.2) continue;
    here.add(entity);
    taken += n;
  }
  return here;
}

/** The pool could not sign (its worker failed): the batch is refused whole, and can be signed here instead. */
export class SigningPoolError extends Error {}

export class SigningPool {
  private worker?: Worker;
  private busy = 0;
  private nextJob = 0;
  private nextBatch = 0;
  private readonly waiting = new Map<number, { resolve: (items: SignedItem[]) => void; reject: (err: Error) => void }>();

  constructor(
    private readonly seed: Uint8Array,
    private readonly publicKey: Uint8Array,
  ) {}

  /** Whether there is another core to sign on (one core: a worker would only add copying). */
  static worthIt(): boolean {
    return availableParallelism() > 1;
  }

  /** A new batch: chains of parents continue only within one. */
  begin(): number {
    return ++this.nextBatch;
  }

  /** Signs a chunk of a batch (chunks are signed in the order sent); resolves with them in that order. */
  sign(batch: number, items: SignPlan[]): Promise<SignedItem[]> {
    const worker = this.start();
    const id = ++this.nextJob;
    return new Promise<SignedItem[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.busy++ === 0) worker.ref();
      worker.postMessage({ id, batch, items } satisfies SignJob);
    });
  }

  /**
   * Gives chunk buffers back to the worker for later chunks. The caller guarantees nothing still reads the
   * lines in them (they become unreadable here).
   */
  recycle(buffers: Iterable<ArrayBuffer>): void {
    const list = [...new Set(buffers)].filter((b) => b.byteLength > 0);
    if (list.length && this.worker) this.worker.postMessage({ recycle: list }, list);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./sign-worker.js', import.meta.url), { workerData: { seed: this.seed, publicKey: this.publicKey } });
    worker.on('message', (m: { id: number; chunk?: SignedChunk; error?: string }) => {
      const waiter = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (--this.busy === 0) worker.unref();
      if (m.chunk) waiter?.resolve(itemsOf(m.chunk));
      else waiter?.reject(new SigningPoolError(`the signing worker failed: ${m.error}`));
    });
    worker.on('error', (err) => this.fail(new SigningPoolError(`the signing worker stopped: ${err.message}`)));
    worker.unref(); // an idle worker must not keep the process alive
    return (this.worker = worker);
  }

  private fail(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
    this.busy = 0;
    const worker = this.worker;
    this.worker = undefined; // the next batch starts a fresh worker
    void worker?.terminate();
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
