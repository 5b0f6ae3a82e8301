// Crash-safe file replacement: write a temporary file in the same folder, fsync it, rename it over the target.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { writeAllAt } from './lines.js';

let counter = 0;

export function writeFileAtomic(file: string, data: string | Uint8Array | readonly Uint8Array[], opts: { fsync?: boolean; mode?: number } = {}): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++counter}.tmp`);
  const fd = fs.openSync(tmp, 'w', opts.mode ?? 0o644);
  try {
    writeAllAt(fd, typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data, 0);
    if (opts.fsync !== false) fs.fdatasyncSync(fd); // the contents and size; timestamps need no flush
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Reads a file, or undefined when it does not exist. */
export function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Flushes the whole file system holding `dir`: one syncfs (via `sync -f`) instead of an fsync per file,
 * for batches of files whose order of durability is arranged by the caller.
 */
export function syncFilesystem(dir: string): void {
  const r = process.platform === 'linux' ? spawnSync('sync', ['-f', dir]) : spawnSync('sync');
  if (r.status !== 0) throw new Error(`could not sync the file system holding ${dir}: ${r.stderr?.toString() || r.error?.message}`);
}
