// Checks batches of datagrams from elsewhere (a peer's sync stream, a pack). This thread decodes them
// strictly (it needs the decoded datagrams to apply them anyway); worker threads check their signatures,
// which are most of the cost of taking in a datagram and need no shared state, while this thread applies
// what was checked before, and checks a share of them itself where cores are few (mainThreadShare).
// Workers used to decode too, and this thread decoded each datagram again: the work done twice, and the
// decoder's code warmed up and optimised on two threads. Small batches are checked inline: handing them
// to a worker costs more than it saves. One pool serves every data root a process opens (tests and tools
// open many).
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Envelope } from '../datagram/types.js';
import { invalidSignature, signatureValid } from '../datagram/sign.js';
import { checkIncoming, decodeIncoming, type CheckResult } from './verify-core.js';

/** Below this many datagrams a batch is checked on the calling thread. */
const INLINE_BELOW = 64;
/** Signatures this thread checks at a time before the event loop runs again (about 2 ms here). */
const SLICE = 32;

/**
 * The share of a batch's signatures this thread checks itself, given `workers` worker threads. Per
 * datagram this thread decodes and applies (X) and a signature costs S; all threads finish a batch
 * together when this thread takes f = (S - w X) / (S (w + 1)) of the signatures, so none with two workers
 * or more, which have cores to spare. With one worker (two cores) a fifth (X = 0.6 S) measured best: the
 * main thread had sat idle a third of a catch-up while the worker checked every signature, and a fifth
 * made it faster, where three tenths or none was slower and a tenth no better. (A queue that this thread
 * drew from only while it waited did no better than no share: smaller messages, and a thread that is
 * never sure to wait.)
 */
export function mainThreadShare(workers: number): number {
  return workers <= 0 ? 1 : Math.max(0, (1 - 0.6 * workers) / (workers + 1));
}

/** What a worker is asked: the signatures of decoded datagrams (their bytes, their authors' keys one after another). */
export interface SignatureRequest {
  id: number;
  cluster: string;
  bytes: Uint8Array[];
  authors: Uint8Array;
}
/** Per datagram of the request, 1 when its signature is valid. */
export interface SignatureAnswer {
  id: number;
  ok: Uint8Array;
}

interface Slot {
  worker: Worker;
  /** batches sent and not yet answered: while any is, the worker keeps the process alive */
  busy: number;
}

export class Verifier {
  private slots?: Slot[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (ok: Uint8Array) => void; reject: (e: Error) => void }>();

  /** size: worker threads (none on a single core: a worker there only adds copying) */
  constructor(private readonly size = Math.max(0, Math.min(4, availableParallelism() - 1))) {}

  /** Per datagram, in order: its envelope, or why it was refused (datagrams must belong to `cluster`). */
  async check(items: readonly { bytes: Uint8Array; cid?: string }[], cluster: string): Promise<CheckResult[]> {
    if (items.length < INLINE_BELOW || this.size === 0) return items.map((item) => checkIncoming(item, cluster));
    const results = items.map(decodeIncoming);
    const decoded = results.flatMap((r) => ('env' in r ? [r.env] : []));
    const slots = this.start();
    const here = Math.round(decoded.length * mainThreadShare(slots.length));
    const theirs = decoded.slice(0, decoded.length - here);
    const share = Math.ceil(theirs.length / slots.length);
    const sent = slots.map((slot, i) => {
      const slice = theirs.slice(i * share, (i + 1) * share);
      return slice.length ? this.send(slot, slice, cluster) : Promise.resolve(new Uint8Array(0));
    });
    const mine = await this.checkHere(decoded.slice(decoded.length - here), cluster);
    const parts = [...(await Promise.all(sent)), mine];
    // the answers come in the order the decoded datagrams were sent: worker by worker, each in order
    let part = 0;
    let at = 0;
    return results.map((r) => {
      if (!('env' in r)) return r;
      while (at === parts[part]!.length) (part++, (at = 0));
      return parts[part]![at++] ? r : { error: invalidSignature(r.env.id, cluster) };
    });
  }

  /**
   * Signature checks on this thread, a slice at a time with the event loop running in between (sockets
   * are read, workers' answers come in, earlier batches are applied). Per datagram, 1 when valid.
   */
  private async checkHere(envs: readonly Envelope[], cluster: string): Promise<Uint8Array> {
    const ok = new Uint8Array(envs.length);
    for (let at = 0; at < envs.length; at += SLICE) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let i = at; i < Math.min(envs.length, at + SLICE); i++) ok[i] = signatureValid(envs[i]!.bytes, envs[i]!.datagram.a, cluster) ? 1 : 0;
    }
    return ok;
  }

  /** The signature checks of decoded datagrams, on one worker: per datagram, 1 when valid. */
  private send(slot: Slot, envs: readonly Envelope[], cluster: string): Promise<Uint8Array> {
    const id = ++this.next;
    const authors = new Uint8Array(32 * envs.length);
    envs.forEach((env, i) => authors.set(env.datagram.a, 32 * i));
    const request: SignatureRequest = { id, cluster, bytes: envs.map((env) => env.bytes), authors };
    return new Promise<Uint8Array>((resolve, reject) => {
      this.waiting.set(id, {
        resolve: (r) => {
          if (--slot.busy === 0) slot.worker.unref();
          resolve(r);
        },
        reject,
      });
      if (slot.busy++ === 0) slot.worker.ref();
      slot.worker.postMessage(request, [authors.buffer]);
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
      worker.on('message', (m: SignatureAnswer) => {
        const waiter = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        waiter?.resolve(m.ok);
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
