// Worker thread of the Verifier: strict decode, CID and signature checks of datagrams from elsewhere.
// It answers, per datagram, its CID or what is wrong with it; the main thread then decodes the good ones
// cheaply (trusted) and applies them.
import { parentPort } from 'node:worker_threads';
import { checkIncoming, type CheckResult } from './verify-core.js';

interface Batch {
  id: number;
  cluster: string;
  items: { bytes: Uint8Array; cid?: string }[];
}

parentPort!.on('message', (msg: Batch) => {
  const results: CheckResult[] = msg.items.map((item) => {
    const r = checkIncoming(item, msg.cluster);
    return 'id' in r ? { id: r.id } : r; // envelopes stay here: cloning them costs more than decoding again
  });
  parentPort!.postMessage({ id: msg.id, results });
});
