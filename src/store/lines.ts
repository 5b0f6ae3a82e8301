// Append-only files of newline-terminated records. Bytes after the last newline are never data: a
// final record without its newline is a torn write (crash mid-append), which readers ignore and the next
// append cuts off; a tail of spaces is padding (compaction blanks out folded records in place rather than
// shrinking the file, see padInPlace), which the next append writes over.
import fs from 'node:fs';
import { promisify } from 'node:util';

export interface LineRead {
  lines: string[];
  /** `size:mtimeNs:inode` of the file as it was read ('-' when missing), if asked for */
  stamp?: string;
  /** byte offset just past the last complete line */
  end: number;
  /** bytes of a torn final record, 0 if none (a tail of padding spaces is not torn) */
  torn: number;
}

const SPACE = 0x20;
/** A file rewritten shorter by more than this is truncated instead of padded (appends scan the padding). */
export const PAD_LIMIT = 64 * 1024;

function allSpaces(buf: Uint8Array): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] !== SPACE) return false;
  return true;
}

export function splitLines(buf: Buffer, start = 0): LineRead {
  const lines: string[] = [];
  let pos = start;
  for (;;) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) break;
    if (nl > pos) lines.push(buf.toString('utf8', pos, nl));
    pos = nl + 1;
  }
  return { lines, end: pos, torn: allSpaces(buf.subarray(pos)) ? 0 : buf.length - pos };
}

/**
 * Opens a file to read it without updating its access time where the system allows (Linux, files this
 * user owns). A read after a write would otherwise change the inode, and that waits for any file-system
 * journal commit under way: compaction's worker, reading logs while its main thread flushes rewritten
 * ones, spent a tenth of its time in such reads.
 */
export function openToRead(file: string): number {
  if (NO_ATIME) {
    try {
      return fs.openSync(file, fs.constants.O_RDONLY | NO_ATIME);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err; // not the owner: O_NOATIME is not allowed
    }
  }
  return fs.openSync(file, 'r');
}
const NO_ATIME = (fs.constants as { O_NOATIME?: number }).O_NOATIME ?? 0;

/**
 * A buffer to read a file into: for the usual small file, one kept and reused, because allocating a
 * buffer per read (zero-filled at that) was a tenth of compaction's fold. Safe because readers turn the
 * bytes into strings before they return.
 */
function readBuffer(size: number): Buffer {
  if (size > SCRATCH_LIMIT) return Buffer.allocUnsafe(size);
  if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_LIMIT, Math.max(size, 2 * scratch.length)));
  return scratch.subarray(0, size);
}
const SCRATCH_LIMIT = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Reads the complete lines of a file from `offset` (at most about `maxBytes` of them, to bound memory on
 * large files: `end` says where to continue); a missing file reads as empty.
 */
export function readLines(file: string, offset = 0, maxBytes = Infinity, opts: { stamp?: boolean } = {}): LineRead {
  let buf: Buffer;
  let stamp: string | undefined;
  try {
    const fd = openToRead(file);
    try {
      let size: number;
      if (opts.stamp) {
        // taken before reading: any later change to the file changes it
        const st = fs.fstatSync(fd, { bigint: true });
        (size = Number(st.size)), (stamp = fileStamp(st));
      } else size = fs.fstatSync(fd).size;
      buf = readBuffer(Math.max(0, Math.min(size - offset, maxBytes)));
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      buf = buf.subarray(0, got);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], end: offset, torn: 0, ...(opts.stamp ? { stamp: MISSING } : {}) };
    throw err;
  }
  const r = splitLines(buf);
  return { lines: r.lines, end: offset + r.end, torn: r.torn, ...(stamp ? { stamp } : {}) };
}

const MISSING = '-';
const fileStamp = (st: fs.BigIntStats): string => `${st.size}:${st.mtimeNs}:${st.ino}`;

/** The stamp readLines gives a file, without reading it. */
export function statStamp(file: string): string {
  try {
    return fileStamp(fs.statSync(file, { bigint: true }));
  } catch {
    return MISSING;
  }
}

/**
 * Appends complete lines to a file, first cutting off any torn tail. Returns the file's new size.
 * Appends go through a positioned write at the repaired end, so a torn tail is never glued to new data.
 */
export function appendLines(file: string, text: LinesText, opts: { fsync?: boolean; create?: boolean } = {}): number {
  const fd = openForAppend(file, opts.create);
  try {
    const end = writeAtRepairedEnd(fd, text);
    if (opts.fsync) fs.fdatasyncSync(fd);
    return end;
  } finally {
    fs.closeSync(fd);
  }
}

const fdatasync = promisify(fs.fdatasync);

/**
 * appendLines, then an fdatasync that runs off the event loop: the process keeps receiving while the disk
 * works, and what arrives meanwhile is committed together by the next transaction (group commit).
 * Resolves with the new size once the lines are durable.
 */
export async function appendLinesDurable(file: string, text: LinesText, opts: { create?: boolean } = {}): Promise<number> {
  const fd = openForAppend(file, opts.create);
  try {
    const end = writeAtRepairedEnd(fd, text);
    await fdatasync(fd);
    return end;
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens for reading (the tail check) and positioned writes; creates the file unless `create` is false. */
function openForAppend(file: string, create = true): number {
  return fs.openSync(file, fs.constants.O_RDWR | (create ? fs.constants.O_CREAT : 0), 0o644);
}

/** Whole lines to append: text, or UTF-8 bytes in parts (written gathered, never concatenated). */
export type LinesText = string | readonly Uint8Array[];

function writeAtRepairedEnd(fd: number, text: LinesText): number {
  let size = fs.fstatSync(fd).size;
  if (size > 0) {
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) {
      const tail = tailAfterLastLine(fd, size);
      // padding is simply written over (what the new lines do not cover stays padding); a torn record is cut
      if (!tail.padding) fs.ftruncateSync(fd, tail.start);
      size = tail.start;
    }
  }
  return size + writeAllAt(fd, typeof text === 'string' ? [Buffer.from(text, 'utf8')] : text, size);
}

/** Where the bytes after the last newline start, and whether they are all padding spaces. */
function tailAfterLastLine(fd: number, size: number): { start: number; padding: boolean } {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  let padding = true;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
    padding &&= allSpaces(chunk.subarray(nl + 1, n));
    if (nl >= 0) return { start: start + nl + 1, padding };
    end = start;
  }
  return { start: 0, padding };
}

/**
 * Replaces a file's contents with `text` without creating a file: written from the start, and what is
 * left of the old contents blanked out with spaces (no newline, so readers skip it) instead of cut off,
 * because freeing the blocks of a shrinking file costs more than the rest of the rewrite here. Up to
 * PAD_LIMIT of padding; beyond that the file is truncated.
 */
export function padInPlace(file: string, text: string | readonly Uint8Array[]): void {
  const parts = typeof text === 'string' ? [Buffer.from(text, 'utf8')] : text;
  const length = parts.reduce((n, p) => n + p.length, 0);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  try {
    const pad = fs.fstatSync(fd).size - length;
    writeAllAt(fd, pad > 0 && pad <= PAD_LIMIT ? [...parts, SPACES.subarray(0, pad)] : parts, 0);
    if (pad > PAD_LIMIT) fs.ftruncateSync(fd, length);
  } finally {
    fs.closeSync(fd);
  }
}

const SPACES = Buffer.alloc(PAD_LIMIT, SPACE);
/** writev's limit on buffers per call (IOV_MAX on Linux and macOS) */
const IOV_MAX = 1024;

/** Writes buffers one after another from `position` (gathered: no concatenated copy), completely. */
export function writeAllAt(fd: number, parts: readonly Uint8Array[], position: number): number {
  let at = position;
  let rest = parts.filter((p) => p.length > 0);
  while (rest.length) {
    const n = fs.writevSync(fd, rest.slice(0, IOV_MAX), at);
    at += n;
    rest = withoutFirstBytes(rest, n); // a short write (rare) goes on where it stopped
  }
  return at - position;
}

function withoutFirstBytes(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= parts[i]!.length) n -= parts[i++]!.length;
  return i < parts.length && n > 0 ? [parts[i]!.subarray(n), ...parts.slice(i + 1)] : parts.slice(i);
}
