// Worker thread of the SigningPool: encodes, signs and hashes chains of this node's datagrams, so a
// large batch of writes is signed on another core while the main thread applies and persists the
// datagrams signed before. The main thread computes every field but the signature; the worker only
// fills in parents that are the previous datagram of the same entity in the batch (their CID exists
// only once that one is signed).
import { parentPort, workerData } from 'node:worker_threads';
import type { CID } from 'multiformats/cid';
import { assemble, cidOfBytes, datagramCidOf, signingMessage, unsignedBytes, withSignature } from '../datagram/codec.js';
import { ed25519 } from '../datagram/ed25519.js';
import { recordLine } from '../store/records.js';
import { cidText } from '../datagram/cid-cache.js';
import type { SignJob, SignedChunk } from './signing-pool.js';

const { seed, publicKey } = workerData as { seed: Uint8Array; publicKey: Uint8Array };
const sign = ed25519.signer(seed, publicKey);
/** per entity, the CID of the last datagram signed in the current batch */
let chainOf = new Map<string, CID>();
let batch = -1;
/** chunk buffers the main thread gave back once it had written their lines: fresh memory costs page faults */
const spares: ArrayBuffer[] = [];
const MAX_SPARES = 64;
/** a chunk buffer's least size, so that one given back fits most later chunks */
const CHUNK_BUFFER_BYTES = 96 * 1024;

parentPort!.on('message', (job: SignJob | { recycle: ArrayBuffer[] }) => {
  if ('recycle' in job) {
    for (const buffer of job.recycle) if (spares.length < MAX_SPARES) spares.push(buffer);
    return;
  }
  if (job.batch !== batch) (batch = job.batch), (chainOf = new Map());
  try {
    const signed: { bytes: Uint8Array; cid: CID; id: string; line: string }[] = [];
    for (const item of job.items) {
      const previous = chainOf.get(item.e);
      const p = item.p ? item.p.map(datagramCidOf) : previous ? [previous] : undefined;
      if (!p) throw new Error(`no parent for a chained datagram of ${item.e}`);
      const unsigned = { v: item.v, e: item.e, o: item.o, a: publicKey, s: item.s, l: item.l, p, t: item.t };
      const fields = unsignedBytes(unsigned);
      const z = sign(signingMessage(item.c, fields));
      const bytes = assemble(fields, z);
      const cid = cidOfBytes(bytes);
      chainOf.set(item.e, cid);
      // the log line too: this thread has every field, and the main thread is the busier one
      const id = cidText(cid);
      signed.push({ bytes, cid, id, line: recordLine({ datagram: withSignature(unsigned, z), bytes, cid, id }) });
    }
    const chunk = packChunk(signed);
    parentPort!.postMessage({ id: job.id, chunk }, [chunk.data.buffer, chunk.lengths.buffer] as ArrayBuffer[]);
  } catch (err) {
    parentPort!.postMessage({ id: job.id, error: (err as Error).message });
  }
});

/** One buffer for the whole chunk, handed over rather than copied, in a buffer given back earlier when one fits. */
function packChunk(signed: readonly { bytes: Uint8Array; cid: CID; id: string; line: string }[]): SignedChunk {
  const lengths = new Uint32Array(signed.length * 3);
  let total = 0;
  signed.forEach(({ bytes, cid, line }, i) => {
    lengths[3 * i] = bytes.length;
    lengths[3 * i + 1] = cid.bytes.length;
    lengths[3 * i + 2] = Buffer.byteLength(line, 'utf8');
    total += lengths[3 * i]! + lengths[3 * i + 1]! + lengths[3 * i + 2]!;
  });
  const spare = spares.findIndex((b) => b.byteLength >= total);
  // never from the shared pool, which cannot be transferred
  const buffer = spare >= 0 ? spares.splice(spare, 1)[0]! : Buffer.allocUnsafeSlow(Math.max(total, CHUNK_BUFFER_BYTES)).buffer;
  const data = Buffer.from(buffer, 0, total);
  let at = 0;
  signed.forEach(({ bytes, cid, line }, i) => {
    data.set(bytes, at);
    data.set(cid.bytes, (at += bytes.length));
    at += cid.bytes.length;
    at += data.write(line, at, lengths[3 * i + 2]!, 'utf8');
  });
  return { data: new Uint8Array(buffer, 0, total), lengths, ids: signed.map((s) => s.id) };
}
