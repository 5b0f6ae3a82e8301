// The published position: the highest sequence number of this node's own datagrams its gossip node has
// published, kept in `.mesh/published.json` so a restarted daemon publishes what was written while it was
// down (by a CLI alone), and nothing twice. Saved with an atomic rename after every publish; it is not
// fsynced, so after a power cut a few datagrams may be published again, which receivers ignore.
import { readIfExists, writeFileAtomic } from '../store/atomic.js';

export class PublishedMark {
  private constructor(private readonly file: string, public seq: number) {}

  static load(file: string): PublishedMark {
    const text = readIfExists(file);
    let seq = 0;
    if (text !== undefined) {
      try {
        const raw = JSON.parse(text) as { seq?: unknown };
        if (typeof raw.seq === 'number' && Number.isSafeInteger(raw.seq) && raw.seq >= 0) seq = raw.seq;
      } catch {
        // unreadable: start from 0 and publish everything this node wrote; receivers drop what they hold
      }
    }
    return new PublishedMark(file, seq);
  }

  advance(seq: number): void {
    if (seq <= this.seq) return;
    this.seq = seq;
    this.save();
  }

  save(): void {
    writeFileAtomic(this.file, JSON.stringify({ seq: this.seq }) + '\n', { fsync: false });
  }
}
