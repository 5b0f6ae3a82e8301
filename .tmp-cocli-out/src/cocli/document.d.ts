import { type EntityKind } from './schema.js';
/** A parsed cocli file. */
export interface CocliDocument {
    /** Frontmatter values as PyYAML would load them (timestamps as ISO strings; null values dropped). */
    fields: Record<string, unknown>;
    /** Frontmatter keys in file order (only keys present in `fields`). */
    keyOrder: string[];
    /** The Markdown body: after the closing `---` line, leading blank lines and trailing whitespace removed. */
    body: string;
}
/** A file that is not a readable cocli document. */
export declare class CocliFormatError extends Error {
    readonly where: string;
    constructor(where: string, message: string);
}
/** Removes leading blank lines and trailing whitespace; CRLF becomes LF. */
export declare function normalizeBody(body: string): string;
/**
 * Parses a cocli document. Like cocli, the file must start with `---` and is
 * split on the first two `---`; a leading BOM and CRLF line endings are
 * tolerated. Throws CocliFormatError naming `where`.
 */
export declare function parseDocument(text: string, where: string): CocliDocument;
/** A string scalar: plain when provably safe, else single-quoted (printable ASCII), else double-quoted. */
export declare function renderString(s: string): string;
/** A float as PyYAML writes it (always reads back as a float: `4.0`, `1.0e+21`, `.inf`). */
export declare function renderFloat(n: number): string;
/**
 * Renders a cocli document exactly as cocli writes it: `---\n`, the YAML,
 * `---\n`, then `\n<body>\n` when there is a body. Known keys come first in
 * model order, then unknown keys sorted by code point; null/undefined values
 * are omitted. Deterministic: equal inputs give byte-identical output.
 */
export declare function renderDocument(kind: EntityKind, fields: Record<string, unknown>, body: string): string;
