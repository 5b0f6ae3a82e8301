// The data-root write lock: one writer at a time across processes (CLI, daemon), and within a process.
import path from 'node:path';
import lockfile from 'proper-lockfile';

export class RootLock {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly meshDir: string) {}

  /** Runs fn while holding the lock; calls from one process queue up behind each other. */
  run<T>(fn: () => Promise<T> | T): Promise<T> {
    const next = this.chain.then(async () => {
      const release = await lockfile.lock(this.meshDir, {
        lockfilePath: path.join(this.meshDir, 'lock'),
        realpath: false,
        stale: 15_000,
        retries: { retries: 2000, minTimeout: 1, maxTimeout: 25, factor: 1.3 },
      });
      try {
        return await fn();
      } finally {
        await release();
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
