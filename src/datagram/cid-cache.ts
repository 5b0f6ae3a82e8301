// CID strings are the keys of every map (heads, the index, parents), and parsing one back (base32) costs
// more than the rest of a lookup. Every CID this process made or decoded is remembered by its string for
// a while, so turning a head or an index key back into a CID is usually a map lookup.
import { CID } from 'multiformats/cid';

const LIMIT = 1 << 16;
let recent = new Map<string, CID>();
let older = new Map<string, CID>();

/** Remembers a CID under its string form (as made by cid.toString()). */
export function rememberCid(id: string, cid: CID): void {
  if (recent.size >= LIMIT) {
    // two generations: the most recently remembered 64k to 128k CIDs stay, without per-entry bookkeeping
    older = recent;
    recent = new Map();
  }
  recent.set(id, cid);
}

/** CID.parse with a cache; throws like CID.parse on a malformed string. */
export function parseCid(id: string): CID {
  const hit = recent.get(id) ?? older.get(id);
  if (hit) return hit;
  const cid = CID.parse(id);
  rememberCid(id, cid);
  return cid;
}
