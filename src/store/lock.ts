// The data-root write lock: one writer at a time across processes (CLI, daemon), and within a process.
// It is a file, `.mesh/lock`, created with O_EXCL and holding the owner's PID and host name; removing it
// releases the lock. A lock whose owner no longer runs on this host (killed with -9 mid-write) is taken
// over at once. Taking and releasing it costs two small file operations, which matters: a daemon
// runs a transaction for every gossip message it receives.
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
  private readonly me = JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies Owner);

  constructor(meshDir: string) {
    this.lockFile = path.join(meshDir, 'lock');
  }

  /** Runs fn while holding the lock; calls from one process queue up behind each other. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(async () => {
      await this.acquire();
      try {
        return await fn();
      } finally {
        fs.rmSync(this.lockFile, { force: true });
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async acquire(): Promise<void> {
    const started = Date.now();
    let wait = 1;
    for (;;) {
      if (this.tryCreate()) return;
      this.breakIfOwnerDied();
      if (this.tryCreate()) return;
      if (Date.now() - started > WAIT_LIMIT_MS) throw new LockTimeoutError(`${this.lockFile} stayed locked for ${WAIT_LIMIT_MS / 60_000} minutes (held by ${this.describeOwner()})`);
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(20, wait * 1.5);
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
