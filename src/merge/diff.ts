// Turning a whole document (an adopted or hand-edited _index.md) into the ops that take the merged
// view to it. Pure: the store reads the files, this decides what changed.
import type { Op, Value } from '../datagram/types.js';
import { fieldMerge, isValidFieldName, type EntityType } from '../datagram/entity.js';
import { checkValue } from '../cocli/schema.js';
import type { EntityView } from './view.js';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The ops that record an edit of an entity's files: what changed from `base` (the view the files were
 * last rendered from; empty for a file cocli-mesh never wrote) to `fields` + `body` (what the files say
 * now), skipping changes the current view already has. Diffing against the base rather than the
 * current view means datagrams applied since the last render are never reverted by a stale file.
 * Values cocli could not load are skipped with a warning.
 */
export function editOps(type: EntityType, base: EntityView, current: EntityView, fields: Record<string, unknown>, body: string): { ops: Op[]; warnings: string[] } {
  const ops: Op[] = [];
  const warnings: string[] = [];
  const kind = type === 'person' ? 'person' : 'company';
  const keys = new Set([...Object.keys(base.fields), ...Object.keys(fields)]);
  for (const key of [...keys].sort()) {
    if (!isValidFieldName(key)) {
      warnings.push(`key "${key}" is not a field name cocli-mesh can replicate; left as is`);
      continue;
    }
    const next = fields[key];
    const was = base.fields[key];
    const now = current.fields[key];
    if (next !== undefined && type !== 'cluster') {
      const problem = checkValue(kind, key, next);
      if (problem) {
        warnings.push(`${key}: ${problem}; not recorded`);
        continue;
      }
    }
    const merge = fieldMerge(type, key);
    if (merge === 'set') {
      const members = (v: unknown) => new Set(Array.isArray(v) ? (v as unknown[]).map((m) => String(m).trim()).filter(Boolean) : []);
      const want = members(next);
      const had = members(was);
      const have = members(now);
      for (const m of [...want].sort()) if (!had.has(m) && !have.has(m)) ops.push(['+', key, m]);
      for (const m of [...had].sort()) if (!want.has(m) && have.has(m)) ops.push(['-', key, m]);
    } else if (merge === 'map') {
      const want = (next ?? {}) as Record<string, string>;
      const had = (was ?? {}) as Record<string, string>;
      const have = (now ?? {}) as Record<string, string>;
      for (const k of Object.keys(want).sort()) if (had[k] !== want[k] && have[k] !== want[k]) ops.push(['m', key, k, String(want[k])]);
      for (const k of Object.keys(had).sort()) if (!(k in want) && k in have) ops.push(['x', key, k]);
    } else if (!same(next, was) && !same(next, now)) {
      ops.push(next === undefined ? ['u', key] : ['s', key, next as Value]);
    }
  }
  if (body !== base.body && body !== current.body) ops.push(['b', body]);
  return { ops, warnings };
}
