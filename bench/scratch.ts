// Scratch folders for the benches: made on demand, removed only when the whole bench run ends. Removing
// a bench's hundreds of thousands of files at its own end slowed the next bench's file creation: ext4's
// inode allocator steps over recently freed inodes one by one. Measured here, a new company's two
// folders and log took 1.6 to 1.8 ms of kernel CPU just after a large removal and 0.15 to 0.2 ms a few
// minutes later. A node in use does not remove files by the hundred thousand, so no bench should pay that.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** A new empty folder (under `parent`, default the system's temporary folder), removed at the end of the run. */
export function scratchDir(prefix: string, parent = os.tmpdir()): string {
  fs.mkdirSync(parent, { recursive: true });
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  made.push(dir);
  return dir;
}

/**
 * Writes out everything earlier steps left in the page cache before a timed step starts: the kernel would
 * otherwise flush a previous bench's gigabytes (a copied million-datagram root) while the next one is timed.
 */
export function flushDisk(): void {
  execFileSync('sync');
}

/** Removes every scratch folder made so far. */
export function removeScratch(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

// a bench that fails still leaves nothing behind
process.on('exit', removeScratch);
