// Reusing the inodes of replaced files. Replacing a file atomically (write a temporary file, rename it
// over the old one) allocates an inode and frees one. ext4, the usual Linux file system (a Raspberry Pi's
// too), keeps freed inodes out of reuse for a while, and its allocator steps over every recently freed
// inode of a block group one by one (`recently_deleted`, `find_inode_bit` in a kernel profile). At the
// rate a node renders cocli's files, that made each replacement cost 1.3 to 1.7 ms of kernel time here.
//
// So renders keep each replaced file's inode as a hard link in a small pool (`.mesh/spare/`) and write a
// later temporary file into it: no inode is allocated or freed. Rendering a company went from 1.65 to 1.73
// ms of CPU to 0.68 to 0.74 ms.
//
// Safety. A spare is written only after it has been moved to the temporary file's name and found to have
// no other link: a crash between linking a file into the pool and replacing it leaves a spare that is
// still the live file, and such a spare is dropped, never written. A spare is reused only after it has
// rested for a while (oldest first), so a reader that opened the old file just before it was replaced
// still reads it whole, as it would from a freed inode. The pool is used under the root lock; several
// processes share it through the folder.
import fs from 'node:fs';
import path from 'node:path';

/** spares a pool keeps at most; beyond, replaced files' inodes are freed as before */
const MAX_SPARES = 512;
/** how long a replaced file rests in the pool before its inode is written again */
const REST_MS = 250;

export class SpareInodes {
  /** spares in the order they were kept (oldest first), with when; undefined until the folder is read */
  private spares?: { name: string; at: number }[];
  private counter = 0;

  private readonly restMs: number;
  private readonly max: number;

  constructor(
    private readonly dir: string,
    opts: { restMs?: number; max?: number } = {},
  ) {
    this.restMs = opts.restMs ?? REST_MS;
    this.max = opts.max ?? MAX_SPARES;
  }

  /**
   * Gives `tmp` (a temporary file about to be written whole) a rested spare inode when there is one;
   * otherwise leaves it to be created as usual.
   */
  take(tmp: string): void {
    const spares = this.load();
    const now = Date.now();
    while (spares.length && now - spares[0]!.at >= this.restMs) {
      const { name } = spares.shift()!;
      try {
        fs.renameSync(path.join(this.dir, name), tmp);
      } catch {
        continue; // taken by another process, or removed: try the next
      }
      const st = fs.lstatSync(tmp, { throwIfNoEntry: false });
      if (st?.isFile() && st.nlink === 1) return;
      fs.rmSync(tmp, { force: true }); // still the live file (a crash before its replacement): drop the name only
    }
  }

  /** Keeps the inode of `file`, about to be replaced by a rename, as a spare (when it exists). */
  keep(file: string): void {
    const spares = this.load();
    if (spares.length >= this.max) return;
    const name = `${process.pid}-${++this.counter}`;
    try {
      fs.linkSync(file, path.join(this.dir, name));
      spares.push({ name, at: Date.now() });
    } catch {
      // no old file (a first render), another file system, no hard links there: the inode is freed as before
    }
  }

  private load(): { name: string; at: number }[] {
    if (this.spares) return this.spares;
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      // spares from earlier processes have rested long enough
      this.spares = fs.readdirSync(this.dir).map((name) => ({ name, at: 0 }));
    } catch {
      this.spares = [];
    }
    return this.spares;
  }
}

const pools = new Map<string, SpareInodes>();

/** The pool of a data root's spare folder (one per folder in a process). */
export function spareInodes(dir: string): SpareInodes {
  let pool = pools.get(dir);
  if (!pool) pools.set(dir, (pool = new SpareInodes(dir)));
  return pool;
}
