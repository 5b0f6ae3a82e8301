// Render marks: for each entity, hashes of the cocli files we wrote, so our own renders are told apart
// from edits by cocli or a person. One shared append-only file (.mesh/rendered.log, last line per
// entity wins) rather than a file per entity: creating files is the slowest thing a disk does here.
import { GenerationalLog } from './genlog.js';

export interface Mark {
  /** file name of the document in the entity folder */
  doc?: string;
  /** hashes of document contents we wrote (while a render is under way: the old and the new one) */
  docHashes: string[];
  tagsHashes: string[];
  /** the entity's heads when the files were rendered: the base a later hand edit is diffed against */
  heads?: string[];
}

const NO_MARK: Mark = { docHashes: [], tagsHashes: [] };

export class RenderMarks {
  private readonly marks = new Map<string, Mark>();
  private readonly log: GenerationalLog;
  private staged: string[] = [];
  private lines = 0;

  constructor(file: string) {
    this.log = new GenerationalLog(file);
  }

  /** Follows appends by other processes sharing the data root. */
  refresh(): void {
    for (;;) {
      const { lines, reset } = this.log.readNew(8 * 1024 * 1024); // in chunks: the file can be large
      if (reset) {
        this.marks.clear();
        this.lines = 0;
      }
      if (lines.length === 0) return;
      for (const line of lines) {
        try {
          const { entity, ...mark } = JSON.parse(line) as Mark & { entity: string };
          this.marks.set(entity, { doc: mark.doc, docHashes: mark.docHashes ?? [], tagsHashes: mark.tagsHashes ?? [], heads: mark.heads });
          this.lines++;
        } catch {
          // an unreadable mark only makes us read that entity's files as possibly edited
        }
      }
    }
  }

  get(entity: string): Mark {
    return this.marks.get(entity) ?? NO_MARK;
  }

  set(entity: string, mark: Mark): void {
    this.marks.set(entity, mark);
    this.staged.push(JSON.stringify({ entity, ...mark }) + '\n');
  }

  /** Marks the current contents of an entity's files as accounted for (their edit was recorded). */
  absorb(entity: string, docHash: string | undefined, tagsHash: string | undefined): void {
    const mark = this.get(entity);
    this.set(entity, {
      ...mark,
      docHashes: docHash && !mark.docHashes.includes(docHash) ? [...mark.docHashes, docHash] : mark.docHashes,
      tagsHashes: tagsHash && !mark.tagsHashes.includes(tagsHash) ? [...mark.tagsHashes, tagsHash] : mark.tagsHashes,
    });
  }

  /** Appends staged marks; rewrites the file when it has grown well past one line per entity. */
  persist(): void {
    if (this.staged.length === 0) return;
    this.lines += this.staged.length;
    if (this.lines > 4 * this.marks.size + 1000) {
      this.log.replace([...this.marks].map(([entity, mark]) => JSON.stringify({ entity, ...mark }) + '\n').join(''));
      this.lines = this.marks.size;
    } else this.log.append(this.staged.join(''));
    this.staged = [];
  }
}
