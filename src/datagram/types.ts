// The datagram: one signed, content-addressed record of ops on one entity.
// Field names are one letter on the wire to keep datagrams small; docs/protocol.md maps them.
import type { CID } from 'multiformats/cid';

/** A JSON-compatible value a register may hold (DAG-CBOR encodes it canonically). */
export type Value = string | number | boolean | Value[] | { [key: string]: Value };

/**
 * One change to one field. Encoded as a short array; the first element names the kind:
 *  ['s', field, value]        set a scalar register
 *  ['u', field]               unset a scalar register
 *  ['+', field, member]       add a member to a set field
 *  ['-', field, member]       remove a member from a set field
 *  ['m', field, key, value]   set one key of a map field
 *  ['x', field, key]          remove one key of a map field
 *  ['b', text]                set the Markdown body
 */
export type Op =
  | ['s', string, Value]
  | ['u', string]
  | ['+', string, string]
  | ['-', string, string]
  | ['m', string, string, string]
  | ['x', string, string]
  | ['b', string];

/**
 * The fields that are signed: everything but the signature. The cluster id is signed but not sent: a
 * datagram's signature covers it, so a datagram from another cluster fails verification, without the id
 * taking room in every datagram (docs/protocol.md, "Datagram").
 */
export interface UnsignedDatagram extends DatagramFields {
  /** cluster id */
  c: string;
}

/** The fields a datagram's bytes carry, but the signature. */
export interface DatagramFields {
  /** format version */
  v: number;
  /** entity path, e.g. companies/acme-inc (on the wire: a kind number and the slug) */
  e: string;
  /** ops, applied together */
  o: Op[];
  /** author: raw 32-byte Ed25519 public key */
  a: Uint8Array;
  /** author sequence number, gap-free from 1 */
  s: number;
  /** Lamport number: 1 + max Lamport of the parents */
  l: number;
  /** parents: CIDs of the entity heads the author held, sorted by their bytes */
  p: CID[];
  /** wall-clock time in ms since the epoch, whole seconds (sent in seconds; for people, never used for ordering) */
  t: number;
}

export interface Datagram extends DatagramFields {
  /** Ed25519 signature over the cluster id and the other fields (codec.ts, signingMessage) */
  z: Uint8Array;
}

/** A decoded datagram together with its canonical bytes and CID. */
export interface Envelope {
  readonly datagram: Datagram;
  readonly bytes: Uint8Array;
  readonly cid: CID;
  /** cid.toString(), cached because it is the key of every map */
  readonly id: string;
}

export const FORMAT_VERSION = 2;
