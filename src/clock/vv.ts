// Version vectors over one entity's datagram DAG: author (hex public key) -> highest sequence number
// of that author's datagrams on the entity in a datagram's causal past (inclusive).
//
// Why this works: an author's datagrams on one entity form a causal chain (each names the author's
// previous heads), so "E is an ancestor of D" is exactly vv(D)[E.author] >= E.seq.
export type VersionVector = Record<string, number>;

export function mergeVectors(vectors: readonly VersionVector[]): VersionVector {
  const out: VersionVector = {};
  for (const vv of vectors) {
    for (const author in vv) {
      const seq = vv[author]!;
      if ((out[author] ?? 0) < seq) out[author] = seq;
    }
  }
  return out;
}

export function dominates(vv: VersionVector, author: string, seq: number): boolean {
  return (vv[author] ?? 0) >= seq;
}
