// The data-root write lock: one writer at a time across processes (CLI, daemon), and within a process.
// proper-lockfile holds it (a directory, kept fresh while held, stale after 15 s). Because a writer killed
// with -9 would otherwise block everyone for those 15 s, the holder's PID is written beside the lock, and
// a lock whose holder no longer runs on this host is taken over at once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import lockfile from 'proper-lockfile';

interface Owner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RootLock {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly lockDir: string;
  private readonly ownerFile: string;

  constructor(private readonly meshDir: string) {
    this.lockDir = path.join(meshDir, 'lock');
    this.ownerFile = path.join(meshDir, 'lock.owner');
  }

  /** Runs fn while holding the lock; calls from one process queue up behind each other. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(async () => {
      this.breakIfOwnerDied();
      const release = await lockfile.lock(this.meshDir, {
        lockfilePath: this.lockDir,
        realpath: false,
        stale: 15_000,
        retries: { retries: 3000, minTimeout: 1, maxTimeout: 20, factor: 1.2 },
        onCompromised: (err) => process.emitWarning(`cocli-mesh: the data-root lock was lost: ${err.message}`),
      });
      fs.writeFileSync(this.ownerFile, JSON.stringify({ pid: process.pid, host: os.hostname() } satisfies Owner));
      try {
        return await fn();
      } finally {
        fs.rmSync(this.ownerFile, { force: true });
        await release();
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Takes over a lock left by a process of this host that no longer runs (killed mid-write). */
  private breakIfOwnerDied(): void {
    let owner: Owner;
    try {
      owner = JSON.parse(fs.readFileSync(this.ownerFile, 'utf8')) as Owner;
    } catch {
      return;
    }
    if (owner.host !== os.hostname() || owner.pid === process.pid || alive(owner.pid)) return;
    // Rename first: of several processes breaking the same dead lock, exactly one succeeds.
    const grave = `${this.lockDir}.dead-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(this.lockDir, grave);
    } catch {
      return;
    }
    fs.rmSync(grave, { recursive: true, force: true });
    try {
      const now = JSON.parse(fs.readFileSync(this.ownerFile, 'utf8')) as Owner;
      if (now.pid === owner.pid) fs.rmSync(this.ownerFile, { force: true });
    } catch {
      // already gone
    }
  }
}
