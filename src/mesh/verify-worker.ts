// Worker thread of the Verifier: strict decode, CID and signature checks of datagrams from elsewhere.
// It answers, per datagram, its CID or what is wrong with it; the main thread then decodes the good ones
// cheaply (trusted) and applies them.
import { parentPort, workerData } from 'node:worker_threads';
import { checkIncoming } from './verify-core.js';

const { cluster } = workerData as { cluster: string };

parentPort!.on('message', (msg: { id: number; items: { bytes: Uint8Array; cid?: string }[] }) => {
  parentPort!.postMessage({ id: msg.id, results: msg.items.map((item) => {
      const r = checkIncoming(item, cluster);
      return 'id' in r ? { id: r.id } : r; // the envelope stays here: the main thread decodes it again cheaply
    }) });
});
