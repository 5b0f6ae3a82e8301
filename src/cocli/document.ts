// Codec for cocli's Markdown-with-YAML-frontmatter files (_index.md, people/*.md):
// reads every layout cocli or a person may leave behind and writes exactly
// cocli's own layout, with YAML that PyYAML (YAML 1.1) loads back unchanged.

import { isMap, isScalar, parseDocument as parseYaml, type ScalarTag, type Tags } from 'yaml';
import { type EntityKind, fieldType, formatUtc, knownKeys, parseIsoDateTime } from './schema.js';
import { compareCodePoints } from './tags.js';

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
export class CocliFormatError extends Error {
  readonly where: string;
  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.name = 'CocliFormatError';
    this.where = where;
  }
}

// ---------------------------------------------------------------------------
// Reading: the yaml package with PyYAML's exact YAML 1.1 implicit resolvers.
// (The package's own 1.1 schema differs: it reads `y`/`n` as booleans, `1e3`
// as a float and `09` as an integer, which PyYAML reads as strings.)

const PY_BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PY_BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const PY_NULL = /^(?:~|null|Null|NULL|)$/;
const PY_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PY_FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const PY_TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

function sexagesimal(text: string): number {
  let value = 0;
  for (const part of text.split(':')) value = value * 60 + Number(part);
  return value;
}

/** PyYAML's construct_yaml_int. */
function pyInt(src: string): number {
  let v = src.replace(/_/g, '');
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  let n: number;
  if (v === '0') n = 0;
  else if (v.startsWith('0b')) n = parseInt(v.slice(2), 2);
  else if (v.startsWith('0x')) n = parseInt(v.slice(2), 16);
  else if (v[0] === '0') n = parseInt(v, 8);
  else if (v.includes(':')) n = sexagesimal(v);
  else n = Number(v);
  return n === 0 ? 0 : sign * n;
}

/** PyYAML's construct_yaml_float. */
function pyFloat(src: string): number {
  let v = src.replace(/_/g, '').toLowerCase();
  const sign = v[0] === '-' ? -1 : 1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '.inf') return sign * Infinity;
  if (v === '.nan') return NaN;
  if (v.includes(':')) return sign * sexagesimal(v);
  return sign * Number(v);
}

const pyTags: ScalarTag[] = [
  { tag: 'tag:yaml.org,2002:bool', default: true, test: PY_BOOL_TRUE, resolve: () => true },
  { tag: 'tag:yaml.org,2002:bool', default: true, test: PY_BOOL_FALSE, resolve: () => false },
  { tag: 'tag:yaml.org,2002:float', default: true, test: PY_FLOAT, resolve: (s) => pyFloat(s) },
  { tag: 'tag:yaml.org,2002:int', default: true, test: PY_INT, resolve: (s) => pyInt(s) },
  { tag: 'tag:yaml.org,2002:null', default: true, test: PY_NULL, resolve: () => null },
  {
    tag: 'tag:yaml.org,2002:timestamp',
    default: true,
    test: PY_TIMESTAMP,
    resolve: (s, onError) => {
      const parsed = parseIsoDateTime(s);
      if (!parsed) {
        onError(`invalid timestamp ${JSON.stringify(s)}`);
        return s;
      }
      // A date stays a date; a date-time becomes the UTC ISO string.
      return parsed.dateOnly ? s : formatUtc(parsed.date);
    },
  },
];

const REPLACED_TAGS = new Set([
  'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:int',
  'tag:yaml.org,2002:float',
  'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:timestamp',
]);

function pyyamlSchema(tags: Tags): Tags {
  const kept = tags.filter((t) => typeof t === 'string' || !REPLACED_TAGS.has(t.tag));
  return [...pyTags, ...kept];
}

/** Turns anything the YAML loader produced that is not plain JSON-ish data into plain data. */
function plainData(v: unknown, depth = 0): unknown {
  if (depth > 200) throw new Error('frontmatter nested too deeply');
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : formatUtc(v);
  if (Array.isArray(v)) return v.map((x) => plainData(x, depth + 1));
  if (v instanceof Set) return [...v].map((x) => plainData(x, depth + 1));
  if (v instanceof Map) {
    return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), plainData(x, depth + 1)]));
  }
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainData(x, depth + 1)]));
  }
  return v;
}

/**
 * Removes leading blank lines and trailing ASCII whitespace; CRLF becomes LF.
 * (Only ASCII whitespace: cocli strips with Python's str.strip(), which, unlike
 * JavaScript's trim(), keeps e.g. U+FEFF, so nothing cocli would see is lost.)
 */
export function normalizeBody(body: string): string {
  return body.replace(/\r\n/g, '\n').replace(/^(?:[ \t]*\n)+/, '').replace(/[ \t\n\r\f\v]+$/, '');
}

/**
 * Parses a cocli document. Like cocli, the file must start with `---` and is
 * split on the first two `---`; a leading BOM and CRLF line endings are
 * tolerated. Throws CocliFormatError naming `where`.
 */
export function parseDocument(text: string, where: string): CocliDocument {
  let t = text.startsWith('\uFEFF') ? text.slice(1) : text;
  t = t.replace(/\r\n/g, '\n');
  if (!t.startsWith('---')) {
    throw new CocliFormatError(where, 'no frontmatter: the file does not start with "---"');
  }
  const close = t.indexOf('---', 3);
  if (close < 0) {
    throw new CocliFormatError(where, 'no frontmatter: the opening "---" has no closing "---"');
  }
  const frontmatter = t.slice(3, close);
  const body = normalizeBody(t.slice(close + 3));

  const doc = parseYaml(frontmatter, {
    version: '1.1',
    customTags: pyyamlSchema,
    uniqueKeys: false, // PyYAML lets a later duplicate key win
    merge: true,
    prettyErrors: false,
    logLevel: 'error', // no process warnings for odd (complex) keys
  });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    // The frontmatter begins on line 1, right after the opening `---`, so its lines are the file's lines.
    const offset = Math.min(Math.max(err.pos[0], 0), frontmatter.length);
    const before = frontmatter.slice(0, offset);
    const line = before.split('\n').length;
    const col = offset - (before.lastIndexOf('\n') + 1) + (line === 1 ? 4 : 1);
    const at = ` at line ${line}, column ${col}`;
    throw new CocliFormatError(where, `YAML error in frontmatter${at}: ${err.message.split('\n')[0]}`);
  }
  const contents = doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) {
    return { fields: {}, keyOrder: [], body }; // cocli: safe_load(...) or {}
  }
  if (!isMap(contents)) {
    const what = isScalar(contents) ? 'a scalar' : 'a sequence';
    throw new CocliFormatError(where, `frontmatter is ${what}, not a mapping of keys to values`);
  }
  let loaded: unknown;
  try {
    loaded = plainData(doc.toJS({ maxAliasCount: 1000 }));
  } catch (e) {
    throw new CocliFormatError(where, `frontmatter cannot be loaded: ${(e as Error).message}`);
  }
  const obj = loaded as Record<string, unknown>;

  const order: string[] = [];
  const seen = new Set<string>();
  const push = (k: string): void => {
    if (seen.has(k) || !Object.hasOwn(obj, k) || obj[k] === null || obj[k] === undefined) return;
    seen.add(k);
    order.push(k);
  };
  for (const pair of contents.items) {
    const key: unknown = pair.key;
    if (isScalar(key)) {
      if (typeof key.value === 'symbol') continue; // merge key `<<`
      push(String(key.value));
    }
  }
  for (const k of Object.keys(obj)) push(k); // keys that came from merges or complex keys
  const fields = Object.fromEntries(order.map((k) => [k, obj[k]]));
  return { fields, keyOrder: order, body };
}

// ---------------------------------------------------------------------------
// Writing: PyYAML safe_dump(sort_keys=False) block layout, conservative quoting.

const YAML11_WORDS = /^(?:y|n|yes|no|on|off|true|false|null)$/i;

/** True if `s` can be written as a plain scalar that YAML 1.1/PyYAML reads back as this exact string. */
function plainIsSafe(s: string): boolean {
  if (s === '' || s.trim() !== s) return false;
  // Anything starting with a digit, sign, dot or indicator is quoted; so are numbers, dates, times.
  if (!/^[A-Za-z_/(]/.test(s)) return false;
  if (YAML11_WORDS.test(s)) return false;
  if (s.includes(': ') || s.includes(' #') || s.endsWith(':')) return false;
  return true;
}

function hex(cp: number, width: number): string {
  return cp.toString(16).toUpperCase().padStart(width, '0');
}

/** A double-quoted scalar: ASCII only, escapes for everything else, and no `---` run. */
function doubleQuoted(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp < 0x100) out += '\\x' + hex(cp, 2);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  // Escapes contain no '-', so raw dashes in `out` are adjacent only where they were in `s`.
  // Escape every second dash of a run of three or more: `---` becomes `-\x2D-`.
  out = out.replace(/-{3,}/g, (run) => [...run].map((c, i) => (i % 2 === 1 ? '\\x2D' : c)).join(''));
  return `"${out}"`;
}

/** A string scalar: plain when provably safe, else single-quoted (printable ASCII), else double-quoted. */
export function renderString(s: string): string {
  const needsDouble = s.includes('---') || /[^\x20-\x7e]/.test(s);
  if (needsDouble) return doubleQuoted(s);
  if (plainIsSafe(s)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

/** A float as PyYAML writes it (always reads back as a float: `4.0`, `1.0e+21`, `.inf`). */
export function renderFloat(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  if (Object.is(n, -0)) return '-0.0';
  const s = String(n);
  const e = s.indexOf('e');
  if (e >= 0) return s.slice(0, e).includes('.') ? s : `${s.slice(0, e)}.0${s.slice(e)}`;
  return s.includes('.') ? s : `${s}.0`;
}

/** An integer as plain digits (never exponent notation). */
function renderInt(n: number): string {
  if (Object.is(n, -0)) return '0';
  return Number.isSafeInteger(n) ? String(n) : BigInt(n).toString();
}

type Hint = 'int' | 'float' | undefined;

function isCollection(v: unknown): v is unknown[] | Record<string, unknown> {
  return typeof v === 'object' && v !== null && !(v instanceof Date);
}

function asEntries(v: object): Array<[string, unknown]> {
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [String(k), x] as [string, unknown]);
  return Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]] as [string, unknown]);
}

function asItems(v: object): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (v instanceof Set) return [...v];
  return undefined;
}

/** A scalar value on one line. */
function renderScalar(v: unknown, hint: Hint, path: string): string {
  if (v === null || v === undefined) return 'null'; // only inside unknown keys' nested data
  if (typeof v === 'string') return renderString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (hint === 'float') return renderFloat(v);
    return Number.isInteger(v) ? renderInt(v) : renderFloat(v);
  }
  if (v instanceof Date) return renderString(formatUtc(v));
  throw new TypeError(`${path}: cannot write a ${typeof v} to YAML`);
}

const MAX_IMPLICIT_KEY = 512;

function emitEntry(out: string[], indent: number, key: string, value: unknown, hint: Hint, path: string, depth: number): void {
  const pad = ' '.repeat(indent);
  const k = renderString(key);
  const explicit = k.length > MAX_IMPLICIT_KEY; // implicit keys are limited to 1024 characters
  const prefix = explicit ? `${pad}:` : `${pad}${k}:`;
  if (explicit) out.push(`${pad}? ${k}`);
  if (isCollection(value) && !(value instanceof Uint8Array)) {
    const items = asItems(value);
    if (items) {
      if (items.length === 0) out.push(`${prefix} []`);
      else {
        out.push(prefix);
        emitSeq(out, explicit ? indent + 2 : indent, items, path, depth + 1); // list items flush under their key
      }
      return;
    }
    const entries = asEntries(value);
    if (entries.length === 0) out.push(`${prefix} {}`);
    else {
      out.push(prefix);
      emitMap(out, indent + 2, entries, path, depth + 1);
    }
    return;
  }
  out.push(`${prefix} ${renderScalar(value, hint, path)}`);
}

function emitMap(out: string[], indent: number, entries: Array<[string, unknown]>, path: string, depth: number): void {
  if (depth > 100) throw new TypeError(`${path}: nested too deeply (or cyclic)`);
  const sorted = entries.filter(([, v]) => v !== undefined).sort((a, b) => compareCodePoints(a[0], b[0]));
  for (const [k, v] of sorted) emitEntry(out, indent, k, v, undefined, `${path}.${k}`, depth);
}

function emitSeq(out: string[], indent: number, items: unknown[], path: string, depth: number): void {
  if (depth > 100) throw new TypeError(`${path}: nested too deeply (or cyclic)`);
  const pad = ' '.repeat(indent);
  items.forEach((item, i) => {
    const p = `${path}[${i}]`;
    if (isCollection(item) && !(item instanceof Uint8Array)) {
      const sub = asItems(item);
      const entries = sub ? undefined : asEntries(item);
      if ((sub && sub.length === 0) || (entries && entries.length === 0)) {
        out.push(`${pad}- ${sub ? '[]' : '{}'}`);
        return;
      }
      // Render the nested collection two columns in, then put `- ` on its first line.
      const inner: string[] = [];
      if (sub) emitSeq(inner, indent + 2, sub, p, depth + 1);
      else emitMap(inner, indent + 2, entries!, p, depth + 1);
      inner[0] = `${pad}- ${inner[0]!.slice(indent + 2)}`;
      out.push(...inner);
      return;
    }
    out.push(`${pad}- ${renderScalar(item === undefined ? null : item, undefined, p)}`);
  });
}

/**
 * Renders a cocli document exactly as cocli writes it: `---\n`, the YAML,
 * `---\n`, then `\n<body>\n` when there is a body. Known keys come first in
 * model order, then unknown keys sorted by code point; null/undefined values
 * are omitted. Deterministic: equal inputs give byte-identical output.
 */
export function renderDocument(kind: EntityKind, fields: Record<string, unknown>, body: string): string {
  const present = Object.keys(fields).filter((k) => fields[k] !== undefined && fields[k] !== null);
  const presentSet = new Set(present);
  const known = knownKeys(kind);
  const knownSet = new Set(known);
  const ordered = [
    ...known.filter((k) => presentSet.has(k)),
    ...present.filter((k) => !knownSet.has(k)).sort(compareCodePoints),
  ];
  const lines: string[] = [];
  for (const key of ordered) {
    const type = fieldType(kind, key);
    const hint: Hint = type === 'int' || type === 'float' ? type : undefined;
    emitEntry(lines, 0, key, fields[key], hint, key, 0);
  }
  const yaml = lines.length === 0 ? '{}\n' : lines.join('\n') + '\n';
  const b = normalizeBody(body);
  return `---\n${yaml}---\n${b === '' ? '' : `\n${b}\n`}`;
}
