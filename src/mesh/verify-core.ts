// The check every datagram from elsewhere passes before it is applied (strict decode, limits, CID,
// cluster, signature), in a form that runs the same on the main thread and in verifier workers.
import { decodeDatagram } from '../datagram/codec.js';
import { verifyDatagram } from '../datagram/sign.js';
import type { Envelope } from '../datagram/types.js';

/** Either the datagram's CID (it passed; checked on this thread: with its envelope) or the reason it failed. */
export type CheckResult = { id: string; env?: Envelope } | { error: string };

export function checkIncoming(item: { bytes: Uint8Array; cid?: string }, cluster: string): CheckResult {
  try {
    const env = decodeDatagram(item.bytes, item.cid);
    verifyDatagram(env, cluster);
    return { id: env.id, env };
  } catch (err) {
    return { error: (err as Error).message };
  }
}
