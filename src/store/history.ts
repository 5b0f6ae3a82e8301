// History: the datagrams compaction folded out of entity logs, kept in a few large append-only CARv1
// segment files under .mesh/history/ (each starts with a CAR header; appends add blocks). A checkpoint
// names the byte ranges of its entity's folded datagrams. One shared file instead of a file per entity,
// because creating a file costs far more than appending to one (measured: ~0.3 ms against ~0.01 ms here).
// Bytes past what any checkpoint names (a compaction killed mid-way) are unused, never misread.
import fs from 'node:fs';
import path from 'node:path';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { varint } from 'multiformats';
import type { Envelope } from '../datagram/types.js';
import { decodeDatagram } from '../datagram/codec.js';
import { openToRead, writeAllAt } from './lines.js';

/** A range of one segment: [segment number, byte offset, byte length]. */
export type HistoryRange = [number, number, number];

const SEGMENT_LIMIT = 256 * 1024 * 1024;

export const CAR_HEADER = (() => {
  const header = dagCbor.encode({ roots: [], version: 1 });
  return Buffer.concat([varintBytes(header.length), header]);
})();

function varintBytes(n: number): Uint8Array {
  return varint.encodeTo(n, new Uint8Array(varint.encodingLength(n)));
}

/** A datagram's CARv1 block, as the pieces to write one after another: varint(length), CID, bytes. */
export function carBlockParts(env: Envelope): [Uint8Array, Uint8Array, Uint8Array] {
  return [varintBytes(env.cid.bytes.length + env.bytes.length), env.cid.bytes, env.bytes];
}

export class HistorySegments {
  constructor(readonly dir: string) {}

  segmentFile(n: number): string {
    return path.join(this.dir, `${String(n).padStart(6, '0')}.car`);
  }

  /** Where the next append goes: the current segment and its size (a new segment past the size limit). */
  tail(): { segment: number; size: number } {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir).filter((f) => /^\d{6}\.car$/.test(f)).sort();
    } catch {
      fs.mkdirSync(this.dir, { recursive: true });
    }
    const last = names.length ? Number(names[names.length - 1]!.slice(0, 6)) : 0;
    if (last === 0) return { segment: 1, size: 0 };
    const size = fs.statSync(this.segmentFile(last)).size;
    return size >= SEGMENT_LIMIT ? { segment: last + 1, size: 0 } : { segment: last, size };
  }

  /** Writes parts (blocks, after the CAR header for a new segment) at the tail, gathered, with one fdatasync. */
  write(tail: { segment: number; size: number }, parts: readonly Uint8Array[]): void {
    if (parts.every((p) => p.length === 0)) return;
    const fd = fs.openSync(this.segmentFile(tail.segment), fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
    try {
      writeAllAt(fd, parts, tail.size);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The datagrams in the ranges, strictly decoded with CIDs checked (`trusted`: see decodeDatagram). */
  read(ranges: readonly HistoryRange[], opts: { trusted?: boolean } = {}): Envelope[] {
    return this.blocks(ranges).map((b) => decodeDatagram(b.bytes, b.cid, opts));
  }

  /** The CIDs and bytes of the datagrams in the ranges, not decoded (serving a peer). */
  readRaw(ranges: readonly HistoryRange[]): { id: string; bytes: Uint8Array }[] {
    return this.blocks(ranges).map((b) => ({ id: b.cid.toString(), bytes: b.bytes }));
  }

  private blocks(ranges: readonly HistoryRange[]): { cid: CID; bytes: Uint8Array }[] {
    const out: { cid: CID; bytes: Uint8Array }[] = [];
    for (const [n, offset, length] of ranges) {
      const file = this.segmentFile(n);
      const buf = Buffer.alloc(length);
      const fd = openToRead(file);
      try {
        let got = 0;
        while (got < length) {
          const r = fs.readSync(fd, buf, got, length - got, offset + got);
          if (r === 0) throw new Error(`${file} ends before byte ${offset + length} that a checkpoint names`);
          got += r;
        }
      } finally {
        fs.closeSync(fd);
      }
      out.push(...parseBlocks(new Uint8Array(buf.buffer, buf.byteOffset, length), `${file}@${offset}`));
    }
    return out;
  }
}

/** Splits CARv1 blocks (no header); throws naming where it is malformed. */
export function parseBlocks(bytes: Uint8Array, where: string): { cid: CID; bytes: Uint8Array }[] {
  const out: { cid: CID; bytes: Uint8Array }[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    let length: number;
    let l: number;
    let cid: CID;
    let rest: Uint8Array;
    try {
      [length, l] = varint.decode(bytes, pos);
      if (length === 0 || pos + l + length > bytes.length) throw new Error('a block runs past the end');
      [cid, rest] = CID.decodeFirst(bytes.subarray(pos + l, pos + l + length));
    } catch (err) {
      throw new Error(`${where}: malformed CAR block at byte ${pos}: ${(err as Error).message}`);
    }
    out.push({ cid, bytes: rest });
    pos += l + length;
  }
  return out;
}
