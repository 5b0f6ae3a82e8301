/** Compares two strings by Unicode code point (Python's str ordering), not UTF-16 code unit. */
export declare function compareCodePoints(a: string, b: string): number;
/** Sorted (by code point), de-duplicated, trimmed tags with empties dropped. */
export declare function normalizeTags(tags: Iterable<string>): string[];
/** Renders tags.lst: sorted, unique, one per line, trailing newline; no tags gives ''. Throws on a tag spanning lines. */
export declare function renderTagsList(tags: readonly string[]): string;
/** Parses tags.lst: split lines (LF or CRLF), trim, drop empty, sort by code point, de-duplicate. */
export declare function parseTagsList(text: string): string[];
