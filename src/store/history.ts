// An entity's history: the datagrams compaction folded out of its live log, kept as one CARv1 file
// (`updates/mesh.history.car`) so `log` still shows the whole trail, `verify` still checks it, and peers
// can still be served old datagrams. The checkpoint records how many bytes of it are valid; anything
// after that (a compaction that crashed mid-append) is ignored and cut off by the next compaction.
import fs from 'node:fs';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { varint } from 'multiformats';
import type { Envelope } from '../datagram/types.js';
import { decodeDatagram } from '../datagram/codec.js';

const CAR_HEADER = (() => {
  const header = dagCbor.encode({ roots: [], version: 1 });
  return Buffer.concat([varintBytes(header.length), header]);
})();

function varintBytes(n: number): Uint8Array {
  return varint.encodeTo(n, new Uint8Array(varint.encodingLength(n)));
}

/** CARv1 bytes for the datagrams: with the header when starting a file, else blocks only (an append). */
export function carBytes(envs: readonly Envelope[], withHeader: boolean): Buffer {
  const parts: Uint8Array[] = withHeader ? [CAR_HEADER] : [];
  for (const env of envs) parts.push(varintBytes(env.cid.bytes.length + env.bytes.length), env.cid.bytes, env.bytes);
  return Buffer.concat(parts);
}

/** Appends datagrams to a history file whose valid length is `validBytes`; returns the new valid length. */
export function appendHistory(file: string, validBytes: number, envs: readonly Envelope[]): number {
  const bytes = carBytes(envs, validBytes === 0);
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  try {
    fs.ftruncateSync(fd, validBytes);
    let written = 0;
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, validBytes + written);
  } finally {
    fs.closeSync(fd);
  }
  return validBytes + bytes.length;
}

/**
 * The datagrams in the first `validBytes` of a history file, strictly decoded with CIDs checked.
 * Synchronous (CARv1 is a varint-framed sequence of CID + bytes) so merging code can stay synchronous.
 */
export function readHistory(file: string, validBytes: number, opts: { trusted?: boolean } = {}): Envelope[] {
  if (validBytes === 0) return [];
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(validBytes);
  try {
    let got = 0;
    while (got < validBytes) {
      const n = fs.readSync(fd, buf, got, validBytes - got, got);
      if (n === 0) throw new Error(`${file} is shorter (${got} bytes) than its checkpoint says (${validBytes})`);
      got += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return parseCarBlocks(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), file).map((b) => decodeDatagram(b.bytes, b.cid, opts));
}

/** Splits CARv1 bytes into blocks, checking the header; throws naming the file and offset when malformed. */
export function parseCarBlocks(bytes: Uint8Array, where: string): { cid: CID; bytes: Uint8Array }[] {
  const fail = (offset: number, what: string): never => {
    throw new Error(`${where}: malformed CAR at byte ${offset}: ${what}`);
  };
  const [headerLength, h] = varint.decode(bytes, 0);
  const header = dagCbor.decode(bytes.subarray(h, h + headerLength)) as { version?: number };
  if (header?.version !== 1) fail(0, 'not a CARv1 header');
  const out: { cid: CID; bytes: Uint8Array }[] = [];
  let pos = h + headerLength;
  while (pos < bytes.length) {
    const [length, l] = varint.decode(bytes, pos);
    const end = pos + l + length;
    if (length === 0 || end > bytes.length) fail(pos, 'a block runs past the end');
    const [cid, rest] = CID.decodeFirst(bytes.subarray(pos + l, end));
    out.push({ cid, bytes: rest });
    pos = end;
  }
  return out;
}
