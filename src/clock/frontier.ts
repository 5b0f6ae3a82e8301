// The frontier: for every author, the highest sequence number held with no gap below it.
// Two nodes with equal frontiers hold the same datagrams.
export type Frontier = Record<string, number>; // PeerID -> sequence number

/** Parses a frontier from untrusted JSON; throws a message naming the bad entry. */
export function parseFrontier(json: unknown, where: string): Frontier {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where}: a frontier is a JSON object {"<PeerID>": <sequence number>}`);
  const out: Frontier = {};
  for (const [k, v] of Object.entries(json)) {
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new Error(`${where}: sequence number of ${k} must be a non-negative integer`);
    out[k] = v as number;
  }
  return out;
}
