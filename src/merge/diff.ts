// Turning a whole document (an adopted or hand-edited _index.md) into the ops that take the merged
// view to it. Pure: the store reads the files, this decides what changed.
import type { Op, Value } from '../datagram/types.js';
import { fieldMerge, isValidFieldName, type EntityType } from '../datagram/entity.js';
import { checkValue } from '../cocli/schema.js';
import type { EntityView } from './view.js';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Ops that make `view` read as `fields` + `body`; values that cocli could not load are skipped with a warning. */
export function opsToReach(type: EntityType, view: EntityView, fields: Record<string, unknown>, body: string): { ops: Op[]; warnings: string[] } {
  const ops: Op[] = [];
  const warnings: string[] = [];
  const kind = type === 'person' ? 'person' : 'company';
  const keys = new Set([...Object.keys(view.fields), ...Object.keys(fields)]);
  for (const key of [...keys].sort()) {
    if (!isValidFieldName(key)) {
      warnings.push(`key "${key}" is not a field name cocli-mesh can replicate; left as is`);
      continue;
    }
    const next = fields[key];
    const cur = view.fields[key];
    if (next !== undefined && type !== 'cluster') {
      const problem = checkValue(kind, key, next);
      if (problem) {
        warnings.push(`${key}: ${problem}; not recorded`);
        continue;
      }
    }
    const merge = fieldMerge(type, key);
    if (merge === 'set') {
      const want = new Set(Array.isArray(next) ? (next as unknown[]).map((m) => String(m).trim()).filter(Boolean) : []);
      const have = new Set(Array.isArray(cur) ? (cur as string[]) : []);
      for (const m of [...want].sort()) if (!have.has(m)) ops.push(['+', key, m]);
      for (const m of [...have].sort()) if (!want.has(m)) ops.push(['-', key, m]);
    } else if (merge === 'map') {
      const want = (next ?? {}) as Record<string, string>;
      const have = (cur ?? {}) as Record<string, string>;
      for (const k of Object.keys(want).sort()) if (have[k] !== want[k]) ops.push(['m', key, k, String(want[k])]);
      for (const k of Object.keys(have).sort()) if (!(k in want)) ops.push(['x', key, k]);
    } else if (next === undefined) {
      if (cur !== undefined) ops.push(['u', key]);
    } else if (!same(next, cur)) {
      ops.push(['s', key, next as Value]);
    }
  }
  if (body !== view.body) ops.push(['b', body]);
  return { ops, warnings };
}
