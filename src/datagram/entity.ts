// Entity paths: which records can be replicated, and which field semantics each field has.
import { fieldType, type EntityKind } from '../cocli/schema.js';
import { isValidSlug } from '../cocli/slug.js';

export type EntityType = EntityKind | 'cluster';

/** The reserved entity holding cluster membership (node names, later trust). */
export const CLUSTER_ENTITY = '_cluster';

/** How a field merges: a register (one winner), a set (add-wins), or a map of registers. */
export type FieldMerge = 'register' | 'set' | 'map';

const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** Returns the entity's type, or an error message when the path is not a valid entity. */
export function parseEntity(path: string): ParsedEntity {
  let parsed = recentlyParsed.get(path);
  if (!parsed) {
    parsed = parseEntityPath(path);
    if (recentlyParsed.size >= RECENTLY_PARSED) recentlyParsed.clear();
    recentlyParsed.set(path, parsed);
  }
  return parsed;
}

export type ParsedEntity = Readonly<{ type: EntityType; slug: string } | { error: string }>;

/**
 * Every datagram's entity path is parsed several times on its way in (and a batch names the same few
 * entities over and over): answers are kept for the paths seen last, frozen since callers share them.
 */
const recentlyParsed = new Map<string, ParsedEntity>();
const RECENTLY_PARSED = 4096;

function parseEntityPath(path: string): ParsedEntity {
  if (path === CLUSTER_ENTITY) return Object.freeze({ type: 'cluster', slug: CLUSTER_ENTITY });
  const m = /^(companies|people)\/([^/]*)$/.exec(path);
  if (!m) return Object.freeze({ error: `entity "${path}" is not companies/<slug>, people/<slug> or ${CLUSTER_ENTITY}` });
  const slug = m[2]!;
  if (!isValidSlug(slug)) {
    return Object.freeze({ error: `entity "${path}": slug "${slug}" must match ^[a-z0-9-]+$ and be 3 to 255 characters` });
  }
  return Object.freeze({ type: m[1] === 'companies' ? 'company' : 'person', slug });
}

/**
 * On the wire an entity is its kind as a small number and its slug (the cluster entity has an empty slug):
 * "companies/" spelled out in every datagram would be a twentieth of a small one.
 */
export const ENTITY_KINDS = ['_cluster', 'companies', 'people'] as const;

/** The wire form of a valid entity path, or undefined for an invalid one. */
export function entityToWire(path: string): { kind: number; slug: string } | undefined {
  const parsed = parseEntity(path);
  if ('error' in parsed) return undefined;
  if (parsed.type === 'cluster') return { kind: 0, slug: '' };
  return { kind: parsed.type === 'company' ? 1 : 2, slug: parsed.slug };
}

/** The entity path of a wire form, or undefined when the kind is unknown (the slug is checked by parseEntity). */
export function entityFromWire(kind: unknown, slug: unknown): string | undefined {
  if (typeof slug !== 'string') return undefined;
  if (kind === 0) return slug === '' ? CLUSTER_ENTITY : undefined;
  if (kind === 1 || kind === 2) return `${ENTITY_KINDS[kind]}/${slug}`;
  return undefined;
}

export function isValidFieldName(name: string): boolean {
  return FIELD_NAME.test(name);
}

/** The merge semantics of a field of an entity type. Unknown keys are registers. */
export function fieldMerge(type: EntityType, field: string): FieldMerge {
  if (type === 'cluster') return field === 'nodes' ? 'map' : 'register';
  const t = fieldType(type, field);
  if (t === 'list') return 'set';
  if (t === 'map') return 'map';
  return 'register';
}
