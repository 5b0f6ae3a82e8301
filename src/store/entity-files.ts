// The files cocli reads for an entity (_index.md and tags.lst for a company, the person's .md file):
// reading them (any layout cocli or a person wrote), rendering the merged view into them, and the
// `updates/mesh.rendered` mark that tells our own renders from edits made by cocli or a person.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parseDocument, renderDocument } from '../cocli/document.js';
import { parseTagsList, renderTagsList } from '../cocli/tags.js';
import type { EntityType } from '../datagram/entity.js';
import type { EntityView } from '../merge/view.js';
import { readIfExists, writeFileAtomic } from './atomic.js';
import type { Layout } from './paths.js';

interface Mark {
  /** file name of the document in the entity folder */
  doc?: string;
  /** hashes of document contents we wrote (during a render, the old and the new one) */
  docHashes: string[];
  tagsHashes: string[];
}

export interface EntityFiles {
  docPath?: string;
  docText?: string;
  tagsText?: string;
  mark: Mark;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

export function readMark(layout: Layout, entity: string): Mark {
  try {
    const m = JSON.parse(readIfExists(layout.renderedMark(entity)) ?? '{}') as Partial<Mark>;
    return { doc: m.doc, docHashes: m.docHashes ?? [], tagsHashes: m.tagsHashes ?? [] };
  } catch {
    return { docHashes: [], tagsHashes: [] };
  }
}

function docPathOf(layout: Layout, entity: string, type: EntityType): string | undefined {
  const dir = layout.entityDir(entity);
  if (type === 'company') return path.join(dir, '_index.md');
  if (type !== 'person') return undefined;
  try {
    const first = fs.readdirSync(dir).filter((f) => f.endsWith('.md')).sort()[0];
    return first ? path.join(dir, first) : undefined;
  } catch {
    return undefined;
  }
}

export function readEntityFiles(layout: Layout, entity: string, type: EntityType): EntityFiles {
  const docPath = docPathOf(layout, entity, type);
  return {
    docPath,
    docText: docPath ? readIfExists(docPath) : undefined,
    tagsText: type === 'company' ? readIfExists(path.join(layout.entityDir(entity), 'tags.lst')) : undefined,
    mark: readMark(layout, entity),
  };
}

/**
 * If cocli or a person changed the files since we last rendered them, what they now say
 * (fields and body; tags.lst wins over the frontmatter's tags, as in cocli). Undefined: nothing changed.
 */
export function editedContent(files: EntityFiles, where: string): { fields: Record<string, unknown>; body: string } | undefined {
  const docEdited = files.docText !== undefined && !files.mark.docHashes.includes(sha(files.docText));
  const tagsEdited = files.tagsText !== undefined && !files.mark.tagsHashes.includes(sha(files.tagsText));
  if (!docEdited && !tagsEdited) return undefined;
  if (files.docText === undefined) return undefined; // tags.lst without a company: nothing to anchor it to
  const doc = parseDocument(files.docText, where);
  const fields = { ...doc.fields };
  if (files.tagsText !== undefined && (tagsEdited || fields.tags === undefined)) fields.tags = parseTagsList(files.tagsText);
  return { fields, body: doc.body };
}

/**
 * Writes the view as cocli's files, atomically, skipping files already identical. Returns a warning when
 * the document cannot be written without breaking cocli (a company or person without a name).
 */
export function renderEntityFiles(layout: Layout, entity: string, type: EntityType, view: EntityView): string | undefined {
  if (type !== 'company' && type !== 'person') return undefined;
  const name = view.fields.name;
  if (typeof name !== 'string' || name.length === 0) {
    return `${entity} has no name; cocli would drop it, so its file was not written`;
  }
  const dir = layout.entityDir(entity);
  fs.mkdirSync(layout.updatesDir(entity), { recursive: true });
  const fields = { ...view.fields };
  if (type === 'company') fields.tags ??= [];
  const docText = renderDocument(type, fields, view.body);
  // A new person file is named after the entity's slug, not the current name: the name can change and
  // differ between replicas at first render, and cocli reads the first *.md whatever it is called.
  const docPath = docPathOf(layout, entity, type) ?? path.join(dir, `${entity.split('/')[1]}.md`);
  const tagsText = type === 'company' ? renderTagsList((fields.tags as string[]) ?? []) : undefined;
  const tagsPath = path.join(dir, 'tags.lst');

  const files = readEntityFiles(layout, entity, type);
  const docSame = files.docText === docText;
  const tagsSame = tagsText === undefined || files.tagsText === tagsText;
  const mark: Mark = { doc: path.basename(docPath), docHashes: [sha(docText)], tagsHashes: tagsText === undefined ? [] : [sha(tagsText)] };
  if (docSame && tagsSame && files.mark.docHashes.length === 1 && files.mark.docHashes[0] === mark.docHashes[0] && files.mark.tagsHashes.join() === mark.tagsHashes.join()) {
    return undefined;
  }
  // Callers absorb hand edits before rendering, so the current contents are accounted for. Mark both
  // current and new contents as ours before replacing, so a crash between the steps is never mistaken
  // for a hand edit; then narrow the mark to the new contents.
  const current = (text: string | undefined) => (text === undefined ? [] : [sha(text)]);
  const during: Mark = {
    doc: mark.doc,
    docHashes: [...new Set([...current(files.docText), ...mark.docHashes])],
    tagsHashes: [...new Set([...current(files.tagsText), ...mark.tagsHashes])],
  };
  writeFileAtomic(layout.renderedMark(entity), JSON.stringify(during) + '\n');
  if (!docSame) writeFileAtomic(docPath, docText);
  if (!tagsSame && tagsText !== undefined) writeFileAtomic(tagsPath, tagsText);
  writeFileAtomic(layout.renderedMark(entity), JSON.stringify(mark) + '\n', { fsync: false });
  return undefined;
}
