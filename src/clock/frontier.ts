// The frontier: for every author, the highest sequence number held with no gap below it.
// Two nodes with equal frontiers hold the same datagrams.
export type Frontier = Record<string, number>; // PeerID -> sequence number

/** For each author, the range of sequence numbers `have` holds that `want` lacks. */
export function missingRanges(have: Frontier, want: Frontier): { author: string; from: number; to: number }[] {
  const out: { author: string; from: number; to: number }[] = [];
  for (const author of Object.keys(have).sort()) {
    const from = (want[author] ?? 0) + 1;
    const to = have[author]!;
    if (to >= from) out.push({ author, from, to });
  }
  return out;
}

export function frontiersEqual(a: Frontier, b: Frontier): boolean {
  const ka = Object.keys(a).filter((k) => a[k]! > 0);
  const kb = Object.keys(b).filter((k) => b[k]! > 0);
  return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
}

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
