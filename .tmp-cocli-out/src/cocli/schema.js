// cocli's data model as cocli-mesh sees it: known keys in model order, their
// cocli types, CLI `field=value` coercion and validation of incoming values.
/** Company frontmatter keys in cocli's model field order (COCLI_FORMAT.md). */
export const COMPANY_KEYS = Object.freeze([
    'name', 'domain', 'type', 'tags', 'slug', 'company_hash', 'visits_per_day',
    'keywords', 'full_address', 'street_address', 'city', 'zip_code', 'state', 'country', 'timezone', 'phone_1',
    'phone_number', 'phone_from_website', 'email', 'website_url', 'all_emails', 'email_contexts', 'tech_stack',
    'categories', 'reviews_count', 'average_rating', 'business_status', 'hours', 'latitude', 'longitude',
    'facebook_url', 'linkedin_url', 'instagram_url', 'twitter_url', 'youtube_url', 'about_us_url', 'contact_url',
    'services', 'products', 'meta_description', 'meta_keywords', 'place_id', 'last_enriched', 'list_found_at',
    'details_found_at', 'enqueued_at', 'callback_at', 'enrichment_ttl_days', 'processed_by', 'gmb_url',
]);
/** Person frontmatter keys in cocli's model field order. */
export const PERSON_KEYS = Object.freeze([
    'name', 'email', 'phone', 'company_name', 'role', 'tags', 'slug',
    'full_address', 'street_address', 'city', 'state', 'zip_code', 'country',
]);
const COMPANY_TYPES = (() => {
    const m = new Map();
    for (const k of COMPANY_KEYS)
        m.set(k, 'string');
    for (const k of ['tags', 'keywords', 'tech_stack', 'services', 'products', 'categories', 'all_emails'])
        m.set(k, 'list');
    m.set('email_contexts', 'map');
    for (const k of ['reviews_count', 'visits_per_day', 'enrichment_ttl_days'])
        m.set(k, 'int');
    for (const k of ['average_rating', 'latitude', 'longitude'])
        m.set(k, 'float');
    for (const k of ['last_enriched', 'list_found_at', 'details_found_at', 'enqueued_at', 'callback_at'])
        m.set(k, 'datetime');
    return m;
})();
const PERSON_TYPES = (() => {
    const m = new Map();
    for (const k of PERSON_KEYS)
        m.set(k, 'string');
    m.set('tags', 'list');
    return m;
})();
/** Known keys of a kind, in model order. */
export function knownKeys(kind) {
    return kind === 'company' ? COMPANY_KEYS : PERSON_KEYS;
}
/** The cocli type of a key, or undefined when cocli does not know the key. */
export function fieldType(kind, key) {
    return (kind === 'company' ? COMPANY_TYPES : PERSON_TYPES).get(key);
}
/** A CLI or wire value that does not fit the field's cocli type. */
export class CocliValueError extends Error {
    key;
    constructor(key, message) {
        super(message);
        this.name = 'CocliValueError';
        this.key = key;
    }
}
const ISO_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d*))?)?(?:[ \t]*(Z|z|[+-]\d{1,2}(?::?\d{2})?))?)?$/;
/**
 * Parses an ISO-8601 date or date-time (also the YAML 1.1 timestamp forms).
 * Returns the instant and whether only a date was given; undefined if the
 * text is not ISO-8601 or names an impossible date/time. A date-time without
 * an offset is taken as UTC.
 */
export function parseIsoDateTime(text) {
    const m = ISO_RE.exec(text.trim());
    if (!m)
        return undefined;
    const year = Number(m[1]);
    const month = Number(m[2]);
    const day = Number(m[3]);
    const dateOnly = m[4] === undefined;
    const hour = dateOnly ? 0 : Number(m[4]);
    const minute = dateOnly ? 0 : Number(m[5]);
    const second = m[6] === undefined ? 0 : Number(m[6]);
    const ms = m[7] ? Number((m[7] + '000').slice(0, 3)) : 0;
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
        return undefined;
    const base = new Date(0);
    base.setUTCFullYear(year, month - 1, day);
    base.setUTCHours(hour, minute, second, ms);
    if (base.getUTCFullYear() !== year || base.getUTCMonth() !== month - 1 || base.getUTCDate() !== day)
        return undefined;
    let offsetMinutes = 0;
    const tz = m[8];
    if (tz !== undefined && tz !== 'Z' && tz !== 'z') {
        const sign = tz[0] === '-' ? -1 : 1;
        const digits = tz.slice(1).replace(':', '');
        let oh;
        let om;
        if (digits.length <= 2) {
            oh = Number(digits);
            om = 0;
        }
        else {
            oh = Number(digits.slice(0, digits.length - 2));
            om = Number(digits.slice(-2));
        }
        if (oh > 23 || om > 59)
            return undefined;
        offsetMinutes = sign * (oh * 60 + om);
    }
    const date = new Date(base.getTime() - offsetMinutes * 60_000);
    if (Number.isNaN(date.getTime()))
        return undefined;
    return { date, dateOnly };
}
/** `YYYY-MM-DDTHH:MM:SSZ` (UTC), with `.sss` only when the milliseconds are non-zero. */
export function formatUtc(date) {
    const iso = date.toISOString();
    return iso.endsWith('.000Z') ? iso.slice(0, -5) + 'Z' : iso;
}
/** Normalizes an ISO-8601 date or date-time to `YYYY-MM-DDTHH:MM:SSZ`; undefined if unparseable. */
export function normalizeDateTime(text) {
    const parsed = parseIsoDateTime(text);
    if (!parsed)
        return undefined;
    const y = parsed.date.getUTCFullYear();
    if (y < 0 || y > 9999)
        return undefined;
    return formatUtc(parsed.date);
}
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/**
 * Converts a CLI `field=value` string to the field's cocli type. Unknown keys
 * and string fields keep the raw string. Throws CocliValueError otherwise.
 */
export function coerceValue(kind, key, raw) {
    const type = fieldType(kind, key);
    const shown = JSON.stringify(raw);
    switch (type) {
        case undefined:
            return raw;
        case 'string': {
            const problem = checkValue(kind, key, raw);
            if (problem !== undefined)
                throw new CocliValueError(key, `${key}=${raw}: ${problem}`);
            return raw;
        }
        case 'int': {
            const t = raw.trim();
            const n = INT_RE.test(t) ? Number(t) : NaN;
            if (!Number.isSafeInteger(n)) {
                throw new CocliValueError(key, `${key}=${raw}: ${key} is an integer field; ${shown} is not an integer`);
            }
            return n === 0 ? 0 : n; // no -0
        }
        case 'float': {
            const t = raw.trim();
            const n = FLOAT_RE.test(t) ? Number(t) : NaN;
            if (!Number.isFinite(n)) {
                throw new CocliValueError(key, `${key}=${raw}: ${key} is a float field; ${shown} is not a finite decimal number`);
            }
            return n;
        }
        case 'datetime': {
            const v = normalizeDateTime(raw);
            if (v === undefined) {
                throw new CocliValueError(key, `${key}=${raw}: ${key} is a datetime field; ${shown} is not an ISO-8601 date or date-time (e.g. 2026-02-01T12:00:00Z)`);
            }
            return v;
        }
        case 'list':
            throw new CocliValueError(key, `${key}=${raw}: ${key} is a list field; use --add/--remove, or ${key}:='["a","b"]' to set it from JSON`);
        case 'map':
            throw new CocliValueError(key, `${key}=${raw}: ${key} is a map field; use ${key}:='{"k":"v"}' to set it from JSON`);
    }
}
// C0 controls other than \t and \n, plus DEL: cocli's text fields must not hold them.
// eslint-disable-next-line no-control-regex
const BAD_CONTROL_RE = /[\u0000-\u0008\u000B-\u001F\u007F]/;
function describe(value) {
    if (value === null)
        return 'null';
    if (Array.isArray(value))
        return 'an array';
    if (typeof value === 'number')
        return Number.isFinite(value) ? `the number ${value}` : `the number ${String(value)}`;
    if (typeof value === 'string')
        return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)}`;
    return `a ${typeof value}`;
}
function checkText(key, s) {
    if (!s.isWellFormed())
        return `${key}: string contains an unpaired UTF-16 surrogate`;
    const m = BAD_CONTROL_RE.exec(s);
    if (m) {
        const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
        return `${key}: string contains the control character U+00${code}`;
    }
    return undefined;
}
function isPlainObject(v) {
    if (typeof v !== 'object' || v === null || Array.isArray(v))
        return false;
    const proto = Object.getPrototypeOf(v);
    return proto === Object.prototype || proto === null;
}
function checkJson(path, value, depth) {
    if (depth > 64)
        return `${path}: nested too deeply`;
    if (value === null)
        return undefined; // only top-level null is refused (by checkValue)
    switch (typeof value) {
        case 'string':
            return value.isWellFormed() ? undefined : `${path}: string contains an unpaired UTF-16 surrogate`;
        case 'boolean':
            return undefined;
        case 'number':
            return Number.isFinite(value) ? undefined : `${path}: ${String(value)} is not a JSON number`;
        case 'object': {
            if (Array.isArray(value)) {
                for (let i = 0; i < value.length; i++) {
                    const p = checkJson(`${path}[${i}]`, value[i], depth + 1);
                    if (p !== undefined)
                        return p;
                }
                return undefined;
            }
            if (!isPlainObject(value))
                return `${path}: ${Object.prototype.toString.call(value)} is not JSON-compatible`;
            for (const k of Object.keys(value)) {
                if (!k.isWellFormed())
                    return `${path}: key contains an unpaired UTF-16 surrogate`;
                const p = checkJson(`${path}.${k}`, value[k], depth + 1);
                if (p !== undefined)
                    return p;
            }
            return undefined;
        }
        default:
            return `${path}: ${describe(value)} is not JSON-compatible`;
    }
}
/**
 * Checks that a value (from JSON, another node, or a parsed file) fits the
 * field's cocli type. Returns an error message, or undefined when it fits.
 */
export function checkValue(kind, key, value) {
    const type = fieldType(kind, key);
    if (value === null || value === undefined)
        return `${key}: ${value === null ? 'null' : 'undefined'} is not a value (omit the key instead)`;
    switch (type) {
        case undefined:
            return checkJson(key, value, 0);
        case 'string':
            if (typeof value !== 'string')
                return `${key}: expected a string, got ${describe(value)}`;
            return checkText(key, value);
        case 'int':
            if (typeof value !== 'number' || !Number.isSafeInteger(value))
                return `${key}: expected an integer, got ${describe(value)}`;
            return undefined;
        case 'float':
            if (typeof value !== 'number' || !Number.isFinite(value))
                return `${key}: expected a finite number, got ${describe(value)}`;
            return undefined;
        case 'datetime':
            if (typeof value !== 'string' || normalizeDateTime(value) === undefined) {
                return `${key}: expected an ISO-8601 date-time string, got ${describe(value)}`;
            }
            return undefined;
        case 'list': {
            if (!Array.isArray(value))
                return `${key}: expected a list of strings, got ${describe(value)}`;
            for (let i = 0; i < value.length; i++) {
                const item = value[i];
                if (typeof item !== 'string')
                    return `${key}[${i}]: expected a string, got ${describe(item)}`;
                const p = checkText(`${key}[${i}]`, item);
                if (p !== undefined)
                    return p;
                if (key === 'tags' && (item.includes('\n') || item.trim() !== item || item === '')) {
                    return `${key}[${i}]: a tag must be a non-empty single line without surrounding spaces (tags.lst holds one per line)`;
                }
            }
            return undefined;
        }
        case 'map': {
            if (!isPlainObject(value))
                return `${key}: expected a map of string to string, got ${describe(value)}`;
            for (const k of Object.keys(value)) {
                const p0 = checkText(`${key} key`, k);
                if (p0 !== undefined)
                    return p0;
                const v = value[k];
                if (typeof v !== 'string')
                    return `${key}.${k}: expected a string, got ${describe(v)}`;
                const p = checkText(`${key}.${k}`, v);
                if (p !== undefined)
                    return p;
            }
            return undefined;
        }
    }
}
//# sourceMappingURL=schema.js.map