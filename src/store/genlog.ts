// A shared append-only file that may be replaced wholesale (journal truncation, index rebuild).
// Its first line names a generation; a reader that sees a new generation re-reads from the start,
// so processes sharing a data root can follow each other's appends by offset.
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { appendLines, appendLinesDurable, readLines, type LinesText } from './lines.js';
import { writeFileAtomic } from './atomic.js';

export class GenerationalLog {
  private generation = '';
  private offset = 0;
  /** identity of the file last read to its end: when a stat still shows it, there is nothing new */
  private seen?: { ino: number; size: number; mtimeMs: number };

  constructor(readonly file: string) {}

  /**
   * Lines appended since this reader last looked; `reset` when the file was replaced (lines = all).
   * With `maxBytes`, at most about that much per call: call again until it returns no lines.
   */
  readNew(maxBytes = Infinity): { lines: string[]; reset: boolean } {
    // the common case, nobody wrote since we last looked, costs one stat instead of opening and reading
    const st = this.stat();
    if (st && this.seen && this.generation !== '' && st.ino === this.seen.ino && st.size === this.seen.size && st.mtimeMs === this.seen.mtimeMs) {
      return { lines: [], reset: false };
    }
    this.seen = undefined;
    const head = this.readHeader();
    if (head === undefined) {
      const reset = this.generation !== '';
      this.generation = '';
      this.offset = 0;
      return { lines: [], reset };
    }
    let reset = false;
    if (head.generation !== this.generation) {
      this.generation = head.generation;
      this.offset = head.bodyStart;
      reset = true;
    }
    const r = readLines(this.file, this.offset, maxBytes);
    this.offset = r.end;
    if (st && r.end === st.size) this.seen = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
    return { lines: r.lines, reset };
  }

  /** The generation this reader follows ('' before the first read). */
  get generationId(): string {
    return this.generation;
  }

  /** Where this reader is: enough to resume from a snapshot of what was read. */
  get position(): { generation: string; offset: number } {
    return { generation: this.generation, offset: this.offset };
  }

  /** Resumes reading at a position saved earlier; a different generation on disk still resets. */
  resume(position: { generation: string; offset: number }): void {
    this.generation = position.generation;
    this.offset = position.offset;
    this.seen = undefined;
  }

  /** Makes the next readNew start from the beginning. */
  forget(): void {
    this.generation = '';
    this.offset = 0;
    this.seen = undefined;
  }

  /** Appends lines (each ending in \n). The file is created with a header if missing. */
  append(text: LinesText, fsync = false): void {
    this.createIfMissing();
    this.appended(appendLines(this.file, text, { fsync, create: false }));
  }

  /** Appends lines and resolves once they are on disk (the fsync does not block the event loop). */
  async appendDurable(text: LinesText): Promise<void> {
    this.createIfMissing();
    this.appended(await appendLinesDurable(this.file, text, { create: false }));
  }

  /**
   * A file this reader last saw whole exists (a reader that finds it gone forgets it); otherwise look.
   * Appends never create the file themselves: it would lack its generation header.
   */
  private createIfMissing(): void {
    if (!this.seen && !fs.existsSync(this.file)) this.replace('');
  }

  /**
   * After our own append (under the root lock, so nobody else wrote): the file is read to its end, and
   * the next readNew costs one stat instead of re-reading the header.
   */
  private appended(end: number): void {
    this.offset = end;
    const st = this.stat();
    this.seen = st && st.size === end && this.generation !== '' ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } : undefined;
  }

  /** Replaces the whole file with a new generation holding `text`. */
  replace(text: string): void {
    const generation = randomBytes(8).toString('hex');
    const header = JSON.stringify({ generation }) + '\n';
    writeFileAtomic(this.file, header + text);
    this.generation = generation;
    this.offset = Buffer.byteLength(header + text);
    this.seen = undefined;
  }

  private stat(): fs.Stats | undefined {
    return fs.statSync(this.file, { throwIfNoEntry: false });
  }

  size(): number {
    try {
      return fs.statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  private readHeader(): { generation: string; bodyStart: number } | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const buf = Buffer.alloc(256);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(0x0a);
      if (nl < 0) return undefined;
      const { generation } = JSON.parse(buf.toString('utf8', 0, nl)) as { generation?: unknown };
      if (typeof generation !== 'string') return undefined;
      return { generation, bodyStart: nl + 1 };
    } catch {
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }
}
