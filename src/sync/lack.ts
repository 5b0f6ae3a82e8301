// What one frontier lacks against another, and one frontier told as its change from another. Because
// every node applies an author's datagrams gap-free in sequence order, a frontier describes exactly the
// set a node holds, so these counts are exact.
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

/**
 * The entries of `target` that differ from `base`, with 0 for an author `base` names and `target` does
 * not: what a frame sends instead of a whole frontier the peer can rebuild from `base` (frontierAfter).
 */
export function frontierChange(base: Frontier, target: Frontier): Frontier {
  const change: Frontier = {};
  for (const [author, seq] of Object.entries(target)) if (seq > 0 && base[author] !== seq) change[author] = seq;
  for (const [author, seq] of Object.entries(base)) if (seq > 0 && !((target[author] ?? 0) > 0)) change[author] = 0;
  return change;
}

/** `base` with a frontierChange applied: the whole frontier again (authors at 0 left out). */
export function frontierAfter(base: Frontier, change: Frontier): Frontier {
  const out: Frontier = {};
  for (const [author, seq] of Object.entries(base)) if (seq > 0) out[author] = seq;
  for (const [author, seq] of Object.entries(change)) {
    if (seq > 0) out[author] = seq;
    else delete out[author];
  }
  return out;
}
