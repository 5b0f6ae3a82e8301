// Checks batches of datagrams from elsewhere (a peer's sync stream, a pack) on other cores. Signature
// checks are most of the cost of taking in a datagram and need no shared state, so a large batch is
// split across worker threads while this thread keeps applying what was checked before. Small batches
// are checked inline: handing them to a worker costs more than it saves. One pool serves every data root
// a process opens (tests and tools open many).
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { checkIncoming, type CheckResult } from './verify-core.js';

/** Below this many datagrams a batch is checked on the calling thread. */
const INLINE_BELOW = 64;

interface Slot {
  worker: Worker;
  /** batches sent and not yet answered: while any is, the worker keeps the process alive */
  busy: number;
}

export class Verifier {
  private slots?: Slot[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (r: CheckResult[]) => void; reject: (e: Error) => void }>();

  /** size: worker threads (none on a single core: a worker there only adds copying) */
  constructor(private readonly size = Math.max(0, Math.min(4, availableParallelism() - 1))) {}

  /** Per datagram, in order: its CID, or why it was refused (datagrams must belong to `cluster`). */
  async check(items: readonly { bytes: Uint8Array; cid?: string }[], cluster: string): Promise<CheckResult[]> {
    if (items.length < INLINE_BELOW || this.size === 0) return items.map((item) => checkIncoming(item, cluster));
    const slots = this.start();
    const share = Math.ceil(items.length / slots.length);
    const parts = await Promise.all(
      slots.map((slot, i) => {
        const slice = items.slice(i * share, (i + 1) * share);
        return slice.length ? this.send(slot, slice, cluster) : Promise.resolve([] as CheckResult[]);
      }),
    );
    return parts.flat();
  }

  private send(slot: Slot, items: readonly { bytes: Uint8Array; cid?: string }[], cluster: string): Promise<CheckResult[]> {
    const id = ++this.next;
    return new Promise<CheckResult[]>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (r) => {
          if (--slot.busy === 0) slot.worker.unref();
          resolve(r);
        },
        reject,
      });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, cluster, items });
    });
  }

  /** Starts the workers now (they load their modules in the background), so the first large batch does not wait for that. */
  warmUp(): void {
    if (this.size > 0) this.start();
  }

  private start(): Slot[] {
    if (this.slots) return this.slots;
    const file = new URL('./verify-worker.js', import.meta.url);
    this.slots = Array.from({ length: this.size }, () => {
      const worker = new Worker(file);
      worker.on('message', (m: { id: number; results: CheckResult[] }) => {
        const waiter = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        waiter?.resolve(m.results);
      });
      worker.on('error', (err) => this.fail(err));
      worker.unref(); // idle workers must not keep the process alive
      return { worker, busy: 0 };
    });
    return this.slots;
  }

  private fail(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
    const slots = this.slots ?? [];
    this.slots = undefined; // the next batch starts fresh workers
    for (const s of slots) void s.worker.terminate();
  }

  async close(): Promise<void> {
    const slots = this.slots ?? [];
    this.slots = undefined;
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

let shared: Verifier | undefined;

/** The process's verifier pool. */
export function sharedVerifier(): Verifier {
  return (shared ??= new Verifier());
}
