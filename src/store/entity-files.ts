// The files cocli reads for an entity (_index.md and tags.lst for a company, the person's .md file):
// reading them (any layout cocli or a person wrote), rendering the merged view into them, and the
// render marks (render-marks.ts) that tell our own renders from edits made by cocli or a person.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { parseDocument, renderDocument } from '../cocli/document.js';
import { parseTagsList, renderTagsList } from '../cocli/tags.js';
import type { EntityType } from '../datagram/entity.js';
import type { EntityView } from '../merge/view.js';
import { readIfExists, syncFiles, syncFilesystem } from './atomic.js';
import type { Mark, RenderMarks } from './render-marks.js';
import type { Layout } from './paths.js';
import { spareInodes } from './spare-inodes.js';

export interface EntityFiles {
  docPath?: string;
  docText?: string;
  tagsText?: string;
  mark: Mark;
}

export const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

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

export function readEntityFiles(layout: Layout, marks: RenderMarks, entity: string, type: EntityType): EntityFiles {
  const docPath = docPathOf(layout, entity, type);
  return {
    docPath,
    docText: docPath ? readIfExists(docPath) : undefined,
    tagsText: type === 'company' ? readIfExists(path.join(layout.entityDir(entity), 'tags.lst')) : undefined,
    mark: marks.get(entity),
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
 * A cheap fingerprint of the entity's cocli files (inode, size, mtime): when it equals the one taken
 * right after we last rendered or read them, nobody has edited them since and they need not be read.
 */
export function filesStamp(layout: Layout, entity: string, type: EntityType): string {
  const stat = (file: string | undefined) => {
    if (!file) return '-';
    // no exception for a missing file: building one costs more than the stat (this runs on every receipt)
    const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    return st ? `${st.ino}:${st.size}:${st.mtimeNs}` : '-';
  };
  return `${stat(docPathOf(layout, entity, type))}|${type === 'company' ? stat(path.join(layout.entityDir(entity), 'tags.lst')) : ''}`;
}

export interface RenderPlan {
  entity: string;
  type: EntityType;
  writes: { file: string; text: string }[];
  during: Mark;
  after: Mark;
}

/**
 * What rendering the view as cocli's files would write (nothing when they already say it). Returns a
 * warning instead when the document cannot be written without breaking cocli (no name).
 */
export function planRender(layout: Layout, marks: RenderMarks, entity: string, type: EntityType, view: EntityView): RenderPlan | { warning: string } | undefined {
  if (type !== 'company' && type !== 'person') return undefined;
  const name = view.fields.name;
  if (typeof name !== 'string' || name.length === 0) {
    return { warning: `${entity} has no name; cocli would drop it, so its file was not written` };
  }
  const dir = layout.entityDir(entity);
  const fields = { ...view.fields };
  if (type === 'company') fields.tags ??= [];
  const docText = renderDocument(type, fields, view.body);
  // A new person file is named after the entity's slug, not the current name: the name can change and
  // differ between replicas at first render, and cocli reads the first *.md whatever it is called.
  const docPath = docPathOf(layout, entity, type) ?? path.join(dir, `${entity.split('/')[1]}.md`);
  const tagsText = type === 'company' ? renderTagsList((fields.tags as string[]) ?? []) : undefined;

  const files = readEntityFiles(layout, marks, entity, type);
  const writes: { file: string; text: string }[] = [];
  if (files.docText !== docText) writes.push({ file: docPath, text: docText });
  if (tagsText !== undefined && files.tagsText !== tagsText) writes.push({ file: path.join(dir, 'tags.lst'), text: tagsText });
  const after: Mark = { doc: path.basename(docPath), docHashes: [sha(docText)], tagsHashes: tagsText === undefined ? [] : [sha(tagsText)], heads: view.heads };
  if (writes.length === 0 && JSON.stringify(files.mark) === JSON.stringify(after)) return undefined;
  // Callers absorb hand edits before rendering, so the current contents are accounted for. The mark
  // names both current and new contents while files are replaced, so a crash between the steps is
  // never mistaken for a hand edit; afterwards it names only the new contents.
  const current = (text: string | undefined) => (text === undefined ? [] : [sha(text)]);
  const during: Mark = {
    doc: after.doc,
    heads: after.heads,
    docHashes: [...new Set([...current(files.docText), ...after.docHashes])],
    tagsHashes: [...new Set([...current(files.tagsText), ...after.tagsHashes])],
  };
  return { entity, type, writes, during, after };
}

/**
 * Carries out render plans with one file-system sync for the whole batch instead of an fsync per file:
 * marks and temporary files first, sync, then the renames (each file is whole, old or new, at any crash).
 */
const FSYNC_EACH_UP_TO = 16;

function datasyncFile(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.fdatasyncSync(fd); // the contents (and the size that reads need), not the timestamps
  } finally {
    fs.closeSync(fd);
  }
}

export function applyRenders(layout: Layout, marks: RenderMarks, plans: RenderPlan[]): void {
  if (plans.length === 0) return;
  const renames = writeTemporaries(layout, marks, plans);
  // the new contents and the "during" marks must be durable before the renames: a few files get an fsync
  // each (fdatasync); a large batch one syncfs for all (cheaper than hundreds of fsyncs, dearer than a few)
  if (renames.length <= FSYNC_EACH_UP_TO) {
    for (const [tmp] of renames) datasyncFile(tmp);
    datasyncFile(layout.renderMarks);
  } else syncFilesystem(layout.mesh);
  renameIntoPlace(layout, marks, plans, renames);
}

/**
 * applyRenders with the fdatasyncs off the event loop, several at once (a long-running node keeps receiving while
 * the disk works; callers render in small slices, so this is a handful of files).
 */
export async function applyRendersAsync(layout: Layout, marks: RenderMarks, plans: RenderPlan[]): Promise<void> {
  if (plans.length === 0) return;
  const renames = writeTemporaries(layout, marks, plans);
  // an fdatasync per file, several at once on libuv's threads (a syncfs would need a child process per call,
  // and forking a large process costs more than the fsyncs of a slice)
  await syncFiles([...renames.map(([tmp]) => tmp), layout.renderMarks]);
  renameIntoPlace(layout, marks, plans, renames);
}

/** Marks (old and new contents) and the new contents as temporary files; returns the renames to do. */
function writeTemporaries(layout: Layout, marks: RenderMarks, plans: RenderPlan[]): [string, string][] {
  const renames: [string, string][] = [];
  const spares = spareInodes(layout.spareInodes);
  for (const plan of plans) marks.set(plan.entity, plan.during);
  marks.persist();
  for (const plan of plans) {
    for (const w of plan.writes) {
      const tmp = path.join(path.dirname(w.file), `.${path.basename(w.file)}.tmp`); // fixed name: renders hold the root lock
      spares.take(tmp); // an inode to write into, rather than a new one
      try {
        fs.writeFileSync(tmp, w.text);
      } catch (err) {
        // the entity's folder is created on its first render only (mkdir on every render costs more)
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        fs.mkdirSync(layout.entityDir(plan.entity), { recursive: true });
        fs.writeFileSync(tmp, w.text);
      }
      renames.push([tmp, w.file]);
    }
  }
  return renames;
}

function renameIntoPlace(layout: Layout, marks: RenderMarks, plans: RenderPlan[], renames: [string, string][]): void {
  const spares = spareInodes(layout.spareInodes);
  for (const [tmp, file] of renames) {
    spares.keep(file); // the old contents' inode, for a later render to write into
    fs.renameSync(tmp, file);
  }
  for (const plan of plans) marks.set(plan.entity, plan.after);
  marks.persist();
}
