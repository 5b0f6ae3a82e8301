// Worker thread of the SigningPool: encodes, signs and hashes chains of this node's datagrams, so a
// large batch of writes is signed on another core while the main thread applies and persists the
// datagrams signed before. The main thread computes every field but the signature; the worker only
// fills in parents that are the previous datagram of the same entity in the batch (their CID exists
// only once that one is signed).
import { parentPort, workerData } from 'node:worker_threads';
import { CID } from 'multiformats/cid';
import { assemble, cidOfBytes, signingBytes, withSignature } from '../datagram/codec.js';
import { ed25519 } from '../datagram/ed25519.js';
import { recordLine } from '../store/records.js';
import type { SignJob, SignedItem } from './signing-pool.js';

const { seed, publicKey } = workerData as { seed: Uint8Array; publicKey: Uint8Array };
const sign = ed25519.signer(seed, publicKey);
/** per entity, the CID of the last datagram signed in the current batch */
let chainOf = new Map<string, CID>();
let batch = -1;

parentPort!.on('message', (job: SignJob) => {
  if (job.batch !== batch) (batch = job.batch), (chainOf = new Map());
  const out: SignedItem[] = [];
  try {
    for (const item of job.items) {
      const previous = chainOf.get(item.e);
      const p = item.p ? item.p.map((bytes) => CID.decode(bytes)) : previous ? [previous] : undefined;
      if (!p) throw new Error(`no parent for a chained datagram of ${item.e}`);
      const unsigned = { v: item.v, c: item.c, e: item.e, o: item.o, a: publicKey, s: item.s, l: item.l, p, t: item.t };
      const signed = signingBytes(unsigned);
      const z = sign(signed);
      const bytes = assemble(signed, z);
      const cid = cidOfBytes(bytes);
      chainOf.set(item.e, cid);
      // the log line too: this thread has every field, and the main thread is the busier one
      const id = cid.toString();
      const line = recordLine({ datagram: withSignature(unsigned, z), bytes, cid, id });
      out.push({ bytes, cid: cid.bytes, id, line });
    }
    parentPort!.postMessage({ id: job.id, items: out });
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});
