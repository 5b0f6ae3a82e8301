// CID strings are the keys of every map (heads, the index, parents), and parsing one back (base32) costs
// more than the rest of a lookup. The CIDs of datagrams just applied (the next writes' parents, the
// next lookups) are remembered for a while, so turning one of those back into a CID is a map lookup.
// Small on purpose: caching every CID read slowed a compaction of 1M datagrams through GC.
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

/**
 * CID.parse, answered from the remembered CIDs when it can; throws like CID.parse on a malformed string.
 * What it parses is not remembered: bulk readers (index loading, compaction) would only churn the cache.
 */
export function parseCid(id: string): CID {
  return recent.get(id) ?? older.get(id) ?? CID.parse(id);
}
