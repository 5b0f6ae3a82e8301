// The check every datagram from elsewhere passes before it is applied (strict decode, limits, CID,
// cluster, signature), and its signature half alone, which verifier workers run on datagrams this thread
// has decoded.
import { decodeDatagram } from '../datagram/codec.js';
import { invalidSignature, signatureValid } from '../datagram/sign.js';
import type { Envelope } from '../datagram/types.js';

/** The datagram's envelope, or the reason it failed. */
export type CheckResult = { env: Envelope } | { error: string };

export function checkIncoming(item: { bytes: Uint8Array; cid?: string }, cluster: string): CheckResult {
  const r = decodeIncoming(item);
  return 'error' in r || signatureValid(r.env.bytes, r.env.datagram.a, cluster) ? r : { error: invalidSignature(r.env.id, cluster) };
}

/** The decoded half of a check: the envelope (the signature is still to check), or the reason it failed. */
export function decodeIncoming(item: { bytes: Uint8Array; cid?: string }): CheckResult {
  try {
    return { env: decodeDatagram(item.bytes, item.cid) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Signature checks of decoded datagrams, as a worker receives them: their bytes, and their authors'
 * 32-byte keys one after another. Per datagram, 1 when its signature is valid for `cluster`, else 0.
 */
export function signaturesValid(bytes: readonly Uint8Array[], authors: Uint8Array, cluster: string): Uint8Array {
  const ok = new Uint8Array(bytes.length);
  bytes.forEach((b, i) => (ok[i] = signatureValid(b, authors.subarray(32 * i, 32 * i + 32), cluster) ? 1 : 0));
  return ok;
}
