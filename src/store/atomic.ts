// Crash-safe file replacement: write a temporary file in the same folder, fsync it, rename it over the target.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import type net from 'node:net';
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
 * fdatasync of every file, several at once off the event loop. For a batch of files rewritten in place,
 * in a process that may be large: `sync -f` would fork it (a copy of its page tables, during which its
 * other threads cannot fault in memory), and that stalled compaction's worker thread more than the
 * flushes themselves cost.
 */
export async function syncFiles(files: readonly string[]): Promise<void> {
  const queue = [...files];
  const next = async (): Promise<void> => {
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      const handle = await fs.promises.open(file, 'r');
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(SYNC_PARALLEL, queue.length) }, next));
}
/** flushes in flight at once (the libuv thread pool runs 4 by default) */
const SYNC_PARALLEL = 8;

/** fsync of a file (its contents) or a folder (the names created, renamed or removed in it). */
export function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
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

/** A child's pipe as the socket it is (the stream types do not show ref and unref). */
const handle = (pipe: unknown) => pipe as net.Socket;

/**
 * Flushes the whole file system holding `dir` on request, through one long-lived `sync -f` loop in a
 * shell: for a long run of batches (a large compaction) each of hundreds of rewritten files. One syncfs
 * per batch is a single flush where an fdatasync per file was hundreds (about 145 ms per 500 files here,
 * most of a batch's commit), and the shell is forked once, while forking a large process for every batch
 * stalled its threads (see syncFiles). The shell exits when its input closes, with this process at the latest;
 * it never keeps this process alive by itself.
 */
export class FilesystemSyncer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private failure?: Error;

  private constructor(readonly dir: string) {
    const loop = 'while read -r _; do if sync -f "$1"; then echo ok; else echo failed; fi; done';
    this.child = spawn('sh', ['-c', loop, 'sh', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.on('error', (err) => this.fail(new Error(`could not start a file system sync for ${dir}: ${err.message}`)));
    this.child.on('exit', () => this.fail(new Error(`the file system sync for ${dir} stopped`)));
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      const waiter = this.waiting.shift();
      if (this.waiting.length === 0) handle(this.child.stdout).unref();
      if (line === 'ok') waiter?.resolve();
      else waiter?.reject(new Error(`could not sync the file system holding ${dir}`));
    });
    // an idle shell never keeps this process alive; one awaited flush does (see sync)
    this.child.unref();
    for (const pipe of [this.child.stdin, this.child.stdout, this.child.stderr]) handle(pipe).unref();
  }

  /** A syncer where `sync -f` exists (Linux); undefined elsewhere (callers fsync each file instead). */
  static start(dir: string): FilesystemSyncer | undefined {
    return process.platform === 'linux' ? new FilesystemSyncer(dir) : undefined;
  }

  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) handle(this.child.stdout).ref();
      this.waiting.push({ resolve, reject });
      this.child.stdin.write('\n');
    });
  }

  close(): void {
    this.child.stdin.end();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.splice(0)) waiter.reject(err);
  }
}
