// Gossip messages: one gossipsub message carries one or more datagrams (a DAG-CBOR list of their bytes),
// and the synchronous validator every received message passes before it is applied or forwarded.
import * as dagCbor from '@ipld/dag-cbor';
import { decodeDatagram } from '../datagram/codec.js';
import { verifyDatagram } from '../datagram/sign.js';
import { peerIdOf } from '../datagram/author.js';
import type { Envelope } from '../datagram/types.js';

/** Upper bound for one message (gossipsub's default maximum is 1 MiB; stay well under it). */
export const MAX_MESSAGE_BYTES = 512 * 1024;
export const MAX_DATAGRAMS_PER_MESSAGE = 1024;

export const topicOf = (cluster: string) => `/cocli-mesh/${cluster}/datagrams/1`;

/** Packs datagrams into as few messages as the size bound allows. */
export function encodeMessages(envs: readonly Envelope[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let size = 0;
  for (const env of envs) {
    if (batch.length && (size + env.bytes.length + 8 > MAX_MESSAGE_BYTES || batch.length >= MAX_DATAGRAMS_PER_MESSAGE)) {
      out.push(dagCbor.encode(batch));
      batch = [];
      size = 0;
    }
    batch.push(env.bytes);
    size += env.bytes.length + 8;
  }
  if (batch.length) out.push(dagCbor.encode(batch));
  return out;
}

/**
 * Decodes and checks a message completely: strict decode of every datagram, limits, CID, signature,
 * cluster, and (when a trust list is given) the author's membership. Throws naming the first problem.
 */
export function decodeMessage(data: Uint8Array, cluster: string, trusted?: ReadonlySet<string>): Envelope[] {
  if (data.length > MAX_MESSAGE_BYTES) throw new Error(`message of ${data.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  let list: unknown;
  try {
    list = dagCbor.decode(data);
  } catch (err) {
    throw new Error(`message is not DAG-CBOR: ${(err as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_DATAGRAMS_PER_MESSAGE || !list.every((b) => b instanceof Uint8Array)) {
    throw new Error(`message must be a list of 1 to ${MAX_DATAGRAMS_PER_MESSAGE} datagram byte strings`);
  }
  return (list as Uint8Array[]).map((bytes) => {
    const env = decodeDatagram(bytes);
    verifyDatagram(env, cluster);
    if (trusted && !trusted.has(peerIdOf(env.datagram.a))) throw new Error(`datagram ${env.id} is by ${peerIdOf(env.datagram.a)}, which is not a trusted member`);
    return env;
  });
}
