// What a merged entity looks like to readers: its fields, body and visible conflicts.
import type { Value } from '../datagram/types.js';
import { compareEntries, winner, type Entry, type EntityState } from './state.js';

export interface Conflict {
  /** field name, `field.key` for a map key, or `body` */
  field: string;
  /** the value that won (undefined = unset) */
  winner: Value | undefined;
  /** concurrent values that lost, greatest stamp first */
  losers: { value: Value | undefined; author: string; lamport: number; id: string }[];
}

export interface EntityView {
  entity: string;
  fields: Record<string, Value>;
  body: string;
  conflicts: Conflict[];
  heads: string[];
  count: number;
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const same = (a: Value | null, b: Value | null) => JSON.stringify(a) === JSON.stringify(b);

function register(entries: Entry[] | undefined, field: string, conflicts: Conflict[]): Value | undefined {
  const win = entries && winner(entries);
  if (!win) return undefined;
  const losers = entries
    .filter((e) => e !== win && !same(e.value, win.value))
    .sort((a, b) => compareEntries(b, a))
    .map((e) => ({ value: e.value ?? undefined, author: e.author, lamport: e.lamport, id: e.id }));
  if (losers.length) conflicts.push({ field, winner: win.value ?? undefined, losers });
  return win.value ?? undefined;
}

export function viewOf(state: EntityState): EntityView {
  const fields: Record<string, Value> = {};
  const conflicts: Conflict[] = [];
  for (const field of Object.keys(state.registers).sort(byCodePoint)) {
    const v = register(state.registers[field], field, conflicts);
    if (v !== undefined) fields[field] = v;
  }
  for (const field of Object.keys(state.sets).sort(byCodePoint)) {
    fields[field] = Object.keys(state.sets[field]!).sort(byCodePoint);
  }
  for (const field of Object.keys(state.maps).sort(byCodePoint)) {
    const out: Record<string, Value> = {};
    const map = state.maps[field]!;
    for (const key of Object.keys(map).sort(byCodePoint)) {
      const v = register(map[key], `${field}.${key}`, conflicts);
      if (v !== undefined) out[key] = v;
    }
    fields[field] = out;
  }
  const body = register(state.body, 'body', conflicts);
  return { entity: state.entity, fields, body: typeof body === 'string' ? body : '', conflicts, heads: state.heads, count: state.count };
}
