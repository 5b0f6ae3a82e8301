// Append-only files of newline-terminated records. A final record without its newline is a torn
// write (crash mid-append): readers ignore it, and the next append cuts it off before writing.
import fs from 'node:fs';
import { promisify } from 'node:util';

export interface LineRead {
  lines: string[];
  /** byte offset just past the last complete line */
  end: number;
  /** bytes of a torn final record, 0 if none */
  torn: number;
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
  return { lines, end: pos, torn: buf.length - pos };
}

/**
 * Reads the complete lines of a file from `offset` (at most about `maxBytes` of them, to bound memory on
 * large files: `end` says where to continue); a missing file reads as empty.
 */
export function readLines(file: string, offset = 0, maxBytes = Infinity): LineRead {
  let buf: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      buf = Buffer.alloc(Math.max(0, Math.min(size - offset, maxBytes)));
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
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], end: offset, torn: 0 };
    throw err;
  }
  const r = splitLines(buf);
  return { lines: r.lines, end: offset + r.end, torn: r.torn };
}

/**
 * Appends complete lines to a file, first cutting off any torn tail. Returns the file's new size.
 * Appends go through a positioned write at the repaired end, so a torn tail is never glued to new data.
 */
export function appendLines(file: string, text: string, opts: { fsync?: boolean; create?: boolean } = {}): number {
  const fd = fs.openSync(file, fs.constants.O_RDWR | (opts.create === false ? 0 : fs.constants.O_CREAT), 0o644);
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
export async function appendLinesDurable(file: string, text: string, opts: { create?: boolean } = {}): Promise<number> {
  const fd = fs.openSync(file, fs.constants.O_RDWR | (opts.create === false ? 0 : fs.constants.O_CREAT), 0o644);
  try {
    const end = writeAtRepairedEnd(fd, text);
    await fdatasync(fd);
    return end;
  } finally {
    fs.closeSync(fd);
  }
}

function writeAtRepairedEnd(fd: number, text: string): number {
  let size = fs.fstatSync(fd).size;
  if (size > 0) {
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    if (last[0] !== 0x0a) {
      size = tornTailStart(fd, size);
      fs.ftruncateSync(fd, size);
    }
  }
  const data = Buffer.from(text, 'utf8');
  let written = 0;
  while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written, size + written);
  return size + data.length;
}

function tornTailStart(fd: number, size: number): number {
  const chunk = Buffer.alloc(64 * 1024);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - chunk.length);
    const n = fs.readSync(fd, chunk, 0, end - start, start);
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}
