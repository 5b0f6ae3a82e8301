// Codec for a company's tags.lst: one tag per line, sorted by code point, unique, trailing newline.

import { CocliValueError } from './schema.js';

/** Compares two strings by Unicode code point (Python's str ordering), not UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (D800-DFFF) encode code points above FFFF, so they sort after E000-FFFF.
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa !== sb) return sa ? 1 : -1;
    return ca - cb;
  }
  return a.length - b.length;
}

/** Sorted (by code point), de-duplicated, trimmed tags with empties dropped. */
export function normalizeTags(tags: Iterable<string>): string[] {
  const set = new Set<string>();
  for (const t of tags) {
    const v = t.trim();
    if (v !== '') set.add(v);
  }
  return [...set].sort(compareCodePoints);
}

/** Renders tags.lst: sorted, unique, one per line, trailing newline; no tags gives ''. Throws on a tag spanning lines. */
export function renderTagsList(tags: readonly string[]): string {
  for (const t of tags) {
    if (/[\r\n]/.test(t)) throw new CocliValueError('tags', `tags: tag ${JSON.stringify(t)} contains a line break`);
  }
  const list = normalizeTags(tags);
  return list.length === 0 ? '' : list.join('\n') + '\n';
}

/** Parses tags.lst: split lines (LF or CRLF), trim, drop empty, sort by code point, de-duplicate. */
export function parseTagsList(text: string): string[] {
  return normalizeTags(text.replace(/^\uFEFF/, '').split(/\r?\n|\r/));
}
