// The data-root write lock: one writer at a time across processes (CLI, daemon), and within a process.
// It is a file, `.mesh/lock`, created with O_EXCL and holding the owner's PID and host name; removing it
// releases the lock. A lock whose owner no longer runs on this host (killed with -9 mid-write) is taken
// over at once.
//
// A long-running node may keep the lock for a short lease after a transaction (`setLease`) rather than
// removing it at once: it runs a transaction for every gossip message it receives, and creating and
// removing a file costs more than the rest of a small transaction. Another process that wants the lock
// says so by touching `.mesh/lock.want` while it waits; the holder then releases the lock after its
// current transaction and lets the waiter go first. An in-process waiter is told directly. Leases are
// off by default: a process that holds one must never block its event loop waiting for another process
// that needs the lock (a synchronous child process), or neither moves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

interface Owner {
  pid: number;
  host: string;
}

/** A lock file still empty after this long was left by a process that died between create and write. */
const EMPTY_GRACE_MS = 2_000;
const WAIT_LIMIT_MS = 10 * 60_000;
/** how long a holder that released the lock for a waiter lets it go first (bounded: the waiter may die) */
const YIELD_MS = 200;
/** a lock.want not touched for this long was left by a waiter that gave up or died */
const WANT_FRESH_MS = 1_000;

/** Locks this process holds (on a lease or in a transaction), by lock file: released at exit. */
const held = new Map<string, RootLock>();
let exitHookInstalled = false;
function releaseAllAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const lock of held.values()) lock.releaseNow();
  });
}

/** Whether a process with this PID runs on this host (one we may not signal still runs). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockTimeoutError';
  }
}

export class RootLock {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly lockFile: string;
  private readonly wantFile: string;
  private readonly me = JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies Owner);
  /** the lock file is ours (in a transaction, or kept on a lease between transactions) */
  private holding = false;
  private running = false;
  private leaseTimer?: NodeJS.Timeout;
  /** someone else waits: release after the current transaction */
  private wanted = false;
  /** when this lock was last released for a waiter (it then lets the waiter go first) */
  private yieldedAt = 0;
  private leaseMs = 0;

  constructor(meshDir: string) {
    this.lockFile = path.resolve(meshDir, 'lock'); // absolute: Stores of one process find each other by it
    this.wantFile = path.join(meshDir, 'lock.want');
  }

  /** Keeps the lock this long after each transaction for the next one (0: release at once). */
  setLease(ms: number): void {
    this.leaseMs = ms;
    if (ms === 0) this.releaseNow();
  }

  /** Runs fn while holding the lock; calls from one process queue up behind each other. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(async () => {
      await this.hold();
      this.running = true;
      try {
        return await fn();
      } finally {
        this.running = false;
        this.afterRun();
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Releases the lock now if it is only kept on a lease (no transaction running). */
  releaseNow(): void {
    if (!this.holding || this.running) return;
    clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.holding = false;
    this.wanted = false;
    held.delete(this.lockFile);
    fs.rmSync(this.lockFile, { force: true });
  }

  private async hold(): Promise<void> {
    if (this.holding) {
      clearTimeout(this.leaseTimer);
      this.leaseTimer = undefined;
      return;
    }
    await this.acquire();
    this.holding = true;
    held.set(this.lockFile, this);
    releaseAllAtExit();
  }

  private afterRun(): void {
    if (!this.holding) return;
    if (this.leaseMs === 0) return this.releaseNow();
    if (this.wanted || this.wantIsFresh()) {
      this.yieldedAt = Date.now();
      return this.releaseNow();
    }
    this.leaseTimer = setTimeout(() => this.releaseNow(), this.leaseMs);
    this.leaseTimer.unref(); // a lease never keeps a process alive; the exit hook removes the file
  }

  private wantIsFresh(): boolean {
    const st = fs.statSync(this.wantFile, { throwIfNoEntry: false });
    return st !== undefined && Date.now() - st.mtimeMs < WANT_FRESH_MS;
  }

  private async acquire(): Promise<void> {
    // just released for a waiter: let it take the lock first (it removes lock.want when it has it)
    while (Date.now() - this.yieldedAt < YIELD_MS && this.wantIsFresh()) await new Promise((r) => setTimeout(r, 2));
    const started = Date.now();
    let wait = 1;
    let asked = false;
    for (;;) {
      if (this.tryCreate()) break;
      this.askHolderToRelease();
      asked = true;
      this.breakIfOwnerDied();
      if (this.tryCreate()) break;
      if (Date.now() - started > WAIT_LIMIT_MS) throw new LockTimeoutError(`${this.lockFile} stayed locked for ${WAIT_LIMIT_MS / 60_000} minutes (held by ${this.describeOwner()})`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(20, wait * 1.5);
    }
    if (asked) fs.rmSync(this.wantFile, { force: true });
  }

  /** Tells the holder that we wait: directly when it is in this process, else by touching lock.want. */
  private askHolderToRelease(): void {
    const local = held.get(this.lockFile);
    if (local && local !== this) {
      local.wanted = true;
      local.releaseNow(); // on a lease: released at once; in a transaction: after it
      return;
    }
    try {
      fs.writeFileSync(this.wantFile, this.me); // touched on every try: a fresh file means a live waiter
    } catch {
      // a folder we cannot write to: the holder's lease still runs out by itself
    }
  }

  private tryCreate(): boolean {
    let fd: number;
    try {
      fd = fs.openSync(this.lockFile, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      fs.writeSync(fd, this.me);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }

  private describeOwner(): string {
    try {
      return fs.readFileSync(this.lockFile, 'utf8') || 'an unknown process';
    } catch {
      return 'nobody now';
    }
  }

  /** Takes over a lock left by a process of this host that no longer runs (killed mid-write). */
  private breakIfOwnerDied(): void {
    let text: string;
    let mtime: number;
    try {
      text = fs.readFileSync(this.lockFile, 'utf8');
      mtime = fs.statSync(this.lockFile).mtimeMs;
    } catch (err) {
      // the lock directory of earlier versions (proper-lockfile): its holders are gone after an upgrade
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') fs.rmSync(this.lockFile, { recursive: true, force: true });
      return; // otherwise released meanwhile
    }
    let owner: Owner | undefined;
    try {
      owner = JSON.parse(text) as Owner;
    } catch {
      owner = undefined; // being written, or its writer died between create and write
    }
    const dead = owner ? owner.host === os.hostname() && owner.pid !== process.pid && !processAlive(owner.pid) : Date.now() - mtime > EMPTY_GRACE_MS;
    if (!dead) return;
    // Rename first: of several processes breaking the same dead lock, exactly one succeeds.
    const grave = `${this.lockFile}.dead-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(this.lockFile, grave);
    } catch {
      return;
    }
    // If a live process took the lock between our read and the rename, we moved its lock: put it back.
    const moved = fs.readFileSync(grave, 'utf8');
    if (moved !== text) {
      try {
        fs.linkSync(grave, this.lockFile);
      } catch {
        // someone else holds a newer lock already; the one we moved was theirs: nothing safe to do but wait
      }
    }
    fs.rmSync(grave, { force: true });
  }
}
