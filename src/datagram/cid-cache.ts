// CID strings are the keys of every map (heads, the index, parents), and parsing one back (base32) costs
// more than the rest of a lookup. The CIDs of datagrams just applied (the next writes' parents, the
// next lookups) are remembered for a while, so turning one of those back into a CID is a map lookup.
// Small on purpose: caching every CID read slowed a compaction of 1M datagrams through GC. The other
// way, CID to string, is written directly (cidText).
import { CID } from 'multiformats/cid';

const LIMIT = 1 << 13;
let recent = new Map<string, CID>();
let older = new Map<string, CID>();

/** Remembers a CID under its string form (as made by cid.toString()). */
export function rememberCid(id: string, cid: CID): void {
  if (recent.size >= LIMIT) {
    // two generations: the most recently remembered 8k to 16k CIDs stay, without per-entry bookkeeping
    older = recent;
    recent = new Map();
  }
  recent.set(id, cid);
}

/** cid.toString(), faster. */
export function cidText(cid: CID): string {
  return cid.version === 1 && cid.bytes.length <= MAX_FAST ? base32Text(cid.bytes) : cid.toString();
}

/** The first bytes of every datagram's CID: CIDv1, dag-cbor, sha2-256, a 32-byte digest (which follows). */
export const DATAGRAM_CID_HEAD: readonly number[] = [0x01, 0x71, 0x12, 32];

/**
 * The text form of the CIDv1 (dag-cbor, sha2-256) with the 32-byte digest at `digests[start..start+32]`:
 * what CID.createV1(...).toString() gives, without making the CID, its digest or a copy of the bytes.
 */
export function sha256CborCidText(digests: Uint8Array, start: number): string {
  cidBytes.set(digests.subarray(start, start + 32), DATAGRAM_CID_HEAD.length);
  return base32Text(cidBytes);
}
/** the CID's bytes, the digest written in for each call */
const cidBytes = Uint8Array.from([...DATAGRAM_CID_HEAD, ...new Array<number>(32).fill(0)]);

// CIDv1's text form is "b" and the RFC 4648 base32 of its bytes (lowercase, unpadded). Written here into
// one reused buffer: multiformats' generic encoder builds the string piece by piece and keeps a cache
// per CID object, which cost more than the rest of signing a datagram but the signature.
const CODES = Buffer.from('abcdefghijklmnopqrstuvwxyz234567', 'latin1');
const MAX_FAST = 120;
const scratch = Buffer.allocUnsafe(1 + Math.ceil((MAX_FAST * 8) / 5));

function base32Text(bytes: Uint8Array): string {
  scratch[0] = 0x62; // "b"
  let out = 1;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | bytes[i]!) & 0xfff; // at most 4 pending bits plus the new 8
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      scratch[out++] = CODES[(acc >>> bits) & 31]!;
    }
  }
  if (bits > 0) scratch[out++] = CODES[(acc << (5 - bits)) & 31]!;
  return scratch.toString('latin1', 0, out);
}

/**
 * CID.parse, answered from the remembered CIDs when it can; throws like CID.parse on a malformed string.
 * What it parses is not remembered: bulk readers (index loading, compaction) would only churn the cache.
 */
export function parseCid(id: string): CID {
  return recent.get(id) ?? older.get(id) ?? CID.parse(id);
}
