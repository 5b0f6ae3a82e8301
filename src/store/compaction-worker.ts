// Worker thread for compaction: reads and folds entity logs (the CPU-heavy part) in parallel with the
// main thread, returning for each entity the history blocks to append and its checkpoint JSON with a
// placeholder where the history ranges go (only the main thread knows the offsets).
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from './store.js';
import { batchBuffersOf, prepareEntities, reuseBatchBuffer, type Prepared } from './compaction.js';

const store = new Store((workerData as { root: string }).root);

parentPort!.on('message', (msg: { id: number; entities: string[]; dropHistory: boolean } | { recycle: ArrayBuffer }) => {
  if ('recycle' in msg) return reuseBatchBuffer(msg.recycle);
  let out: Prepared[] = [];
  let error: string | undefined;
  try {
    out = prepareEntities(store, msg.entities, msg.dropHistory);
  } catch (err) {
    error = (err as Error).message;
  }
  // moved, not copied: the prepared entities' bytes share one buffer of their own
  parentPort!.postMessage({ id: msg.id, prepared: out, error }, batchBuffersOf(out));
});
