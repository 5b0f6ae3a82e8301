export type EntityKind = 'company' | 'person';
export type FieldType = 'string' | 'int' | 'float' | 'datetime' | 'list' | 'map';
/** Company frontmatter keys in cocli's model field order (COCLI_FORMAT.md). */
export declare const COMPANY_KEYS: readonly string[];
/** Person frontmatter keys in cocli's model field order. */
export declare const PERSON_KEYS: readonly string[];
/** Known keys of a kind, in model order. */
export declare function knownKeys(kind: EntityKind): readonly string[];
/** The cocli type of a key, or undefined when cocli does not know the key. */
export declare function fieldType(kind: EntityKind, key: string): FieldType | undefined;
/** A CLI or wire value that does not fit the field's cocli type. */
export declare class CocliValueError extends Error {
    readonly key: string;
    constructor(key: string, message: string);
}
/**
 * Parses an ISO-8601 date or date-time (also the YAML 1.1 timestamp forms).
 * Returns the instant and whether only a date was given; undefined if the
 * text is not ISO-8601 or names an impossible date/time. A date-time without
 * an offset is taken as UTC.
 */
export declare function parseIsoDateTime(text: string): {
    date: Date;
    dateOnly: boolean;
} | undefined;
/** `YYYY-MM-DDTHH:MM:SSZ` (UTC), with `.sss` only when the milliseconds are non-zero. */
export declare function formatUtc(date: Date): string;
/** Normalizes an ISO-8601 date or date-time to `YYYY-MM-DDTHH:MM:SSZ`; undefined if unparseable. */
export declare function normalizeDateTime(text: string): string | undefined;
/**
 * Converts a CLI `field=value` string to the field's cocli type. Unknown keys
 * and string fields keep the raw string. Throws CocliValueError otherwise.
 */
export declare function coerceValue(kind: EntityKind, key: string, raw: string): unknown;
/**
 * Checks that a value (from JSON, another node, or a parsed file) fits the
 * field's cocli type. Returns an error message, or undefined when it fits.
 */
export declare function checkValue(kind: EntityKind, key: string, value: unknown): string | undefined;
