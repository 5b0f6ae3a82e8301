// What one frontier lacks against another. Because every node applies an author's datagrams gap-free in
// sequence order, a frontier describes exactly the set a node holds, so these counts are exact.
import type { Frontier } from '../clock/frontier.js';

/** How many datagrams a node at `theirs` lacks that a node at `mine` holds. */
export function lackCount(mine: Frontier, theirs: Frontier): number {
  let n = 0;
  for (const [author, seq] of Object.entries(mine)) n += Math.max(0, seq - (theirs[author] ?? 0));
  return n;
}

/** Whether two frontiers name the same datagrams (authors at 0 count as absent). */
export function sameFrontier(a: Frontier, b: Frontier): boolean {
  return lackCount(a, b) === 0 && lackCount(b, a) === 0;
}
