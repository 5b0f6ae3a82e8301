// Turns `update` arguments into ops: `field=value` (coerced to the field's cocli type),
// `field:=json`, `map.key=value`, --add/--remove set members, --unset. Pure; errors are usage errors.
import { coerceValue } from '../cocli/schema.js';
import { fieldMerge, isValidFieldName, parseEntity } from '../datagram/entity.js';
import type { Op, Value } from '../datagram/types.js';
import type { EntityView } from '../merge/view.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface UpdateArgs {
  assignments: string[];
  add: string[];
  remove: string[];
  unset: string[];
  body?: string;
}

/** Splits `map.key` into the map field and key when `map` is a map field of this entity. */
function mapTarget(type: ReturnType<typeof typeOf>, name: string): { field: string; key: string } | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const field = name.slice(0, dot);
  return fieldMerge(type, field) === 'map' ? { field, key: name.slice(dot + 1) } : undefined;
}

function typeOf(entity: string) {
  const parsed = parseEntity(entity);
  if ('error' in parsed) throw new UsageError(parsed.error);
  return parsed.type;
}

function checkField(name: string, arg: string): void {
  if (!isValidFieldName(name)) throw new UsageError(`${arg}: "${name}" is not a valid field name`);
}

function splitPair(arg: string, flag: string): [string, string] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} ${arg}: expected <field>=<value>`);
  return [arg.slice(0, eq), arg.slice(eq + 1)];
}

/** Builds the ops of one update against the entity's current view (needed to replace whole lists). */
export function buildOps(entity: string, args: UpdateArgs, view: EntityView): Op[] {
  const type = typeOf(entity);
  const kind = type === 'person' ? 'person' : 'company';
  const ops: Op[] = [];
  const replaceSet = (field: string, members: string[]) => {
    const have = new Set((view.fields[field] as string[] | undefined) ?? []);
    const want = new Set(members);
    for (const m of want) if (!have.has(m)) ops.push(['+', field, m]);
    for (const m of have) if (!want.has(m)) ops.push(['-', field, m]);
  };
  const replaceMap = (field: string, entries: Record<string, string>) => {
    const have = (view.fields[field] as Record<string, string> | undefined) ?? {};
    for (const [k, v] of Object.entries(entries)) if (have[k] !== v) ops.push(['m', field, k, v]);
    for (const k of Object.keys(have)) if (!(k in entries)) ops.push(['x', field, k]);
  };

  for (const arg of args.assignments) {
    const [lhs, rhs] = splitPair(arg, 'update');
    const json = lhs.endsWith(':');
    const name = json ? lhs.slice(0, -1) : lhs;
    const target = mapTarget(type, name);
    if (target) {
      if (json) throw new UsageError(`${arg}: a map key takes a plain string (${name}=<value>)`);
      ops.push(['m', target.field, target.key, rhs]);
      continue;
    }
    checkField(name, arg);
    const merge = fieldMerge(type, name);
    if (json) {
      let value: unknown;
      try {
        value = JSON.parse(rhs);
      } catch (err) {
        throw new UsageError(`${arg}: not valid JSON (${(err as Error).message})`);
      }
      if (merge === 'set') {
        if (!Array.isArray(value) || value.some((m) => typeof m !== 'string')) throw new UsageError(`${arg}: ${name} is a list; give a JSON list of strings`);
        replaceSet(name, value as string[]);
      } else if (merge === 'map') {
        if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
          throw new UsageError(`${arg}: ${name} is a map; give a JSON object of strings`);
        }
        replaceMap(name, value as Record<string, string>);
      } else if (value === null) ops.push(['u', name]);
      else ops.push(['s', name, value as Value]);
      continue;
    }
    if (merge === 'set') throw new UsageError(`${arg}: ${name} is a list; use --add ${name}=<member>, --remove ${name}=<member> or ${name}:='["a","b"]'`);
    if (merge === 'map') throw new UsageError(`${arg}: ${name} is a map; use ${name}.<key>=<value> or ${name}:='{"k":"v"}'`);
    try {
      ops.push(['s', name, (type === 'cluster' ? rhs : coerceValue(kind, name, rhs)) as Value]);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  for (const [flag, list, kindOp] of [['--add', args.add, '+'], ['--remove', args.remove, '-']] as const) {
    for (const arg of list) {
      const [field, member] = splitPair(arg, flag);
      checkField(field, `${flag} ${arg}`);
      if (fieldMerge(type, field) !== 'set') throw new UsageError(`${flag} ${arg}: ${field} is not a list field`);
      const m = member.trim();
      if (!m || /[\r\n]/.test(m)) throw new UsageError(`${flag} ${arg}: a member must be one non-empty line`);
      ops.push([kindOp, field, m]);
    }
  }
  for (const name of args.unset) {
    const target = mapTarget(type, name);
    if (target) {
      ops.push(['x', target.field, target.key]);
      continue;
    }
    checkField(name, `--unset ${name}`);
    const merge = fieldMerge(type, name);
    if (merge === 'set') replaceSet(name, []);
    else if (merge === 'map') replaceMap(name, {});
    else ops.push(['u', name]);
  }
  if (args.body !== undefined) ops.push(['b', args.body.replace(/\s+$/, '')]);

  if (type !== 'cluster') {
    const setsName = ops.some((o) => o[0] === 's' && o[1] === 'name');
    const unsetsName = ops.some((o) => o[0] === 'u' && o[1] === 'name');
    if (unsetsName) throw new UsageError(`name is required by cocli and cannot be unset`);
    if (view.fields.name === undefined && !setsName) {
      throw new UsageError(`${entity} has no name yet; cocli drops records without one: add name=<name> to this update`);
    }
  }
  if (ops.length === 0) throw new UsageError('nothing to update: give at least one field=value, --add, --remove, --unset or --body-file');
  return ops;
}
