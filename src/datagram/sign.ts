// Signing and verifying datagrams with the node's Ed25519 key (the libp2p identity key).
import { assemble, checkUnsigned, envelopeOf, signingMessage, signingMessageOf, unsignedBytes, withSignature } from './codec.js';
import type { Envelope, UnsignedDatagram } from './types.js';
import { InvalidDatagramError } from './errors.js';
import { ed25519, type Ed25519 } from './ed25519.js';

export class Signer {
  readonly publicKey: Uint8Array;
  private readonly signBytes: (message: Uint8Array) => Uint8Array;

  /** seed: the 32-byte Ed25519 private seed; publicKey: its 32-byte public key */
  constructor(seed: Uint8Array, publicKey: Uint8Array, backend: Ed25519 = ed25519) {
    this.signBytes = backend.signer(seed, publicKey);
    this.publicKey = publicKey;
  }

  /** Signs after the same strict checks a peer applies: never writes what others would reject. */
  sign(unsigned: UnsignedDatagram): Envelope {
    checkUnsigned(unsigned);
    return this.signChecked(unsigned);
  }

  /** sign, for a datagram the caller has just passed through checkUnsigned. */
  signChecked(unsigned: UnsignedDatagram): Envelope {
    const fields = unsignedBytes(unsigned);
    const z = this.signBytes(signingMessage(unsigned.c, fields));
    return envelopeOf(withSignature(unsigned, z), assemble(fields, z));
  }
}

/**
 * Whether a datagram's signature (its last 64 bytes) is its author's, over its fields and `cluster`.
 * Takes the canonical bytes and the author's key, so a thread that never decoded the datagram can check it.
 */
export function signatureValid(bytes: Uint8Array, author: Uint8Array, cluster: string, backend: Ed25519 = ed25519): boolean {
  return backend.verify(signingMessageOf(bytes, cluster), bytes.subarray(bytes.length - 64), author);
}

/** What a datagram whose signature fails is told. */
export function invalidSignature(id: string, cluster: string): string {
  return `datagram ${id} has an invalid signature (or belongs to another cluster than "${cluster}")`;
}

/**
 * Throws unless the datagram's signature is valid for its author key and `cluster`. The cluster id is
 * signed but not sent, so a datagram of another cluster fails here like a forged one.
 */
export function verifyDatagram(env: Envelope, cluster: string): void {
  if (!signatureValid(env.bytes, env.datagram.a, cluster)) throw new InvalidDatagramError(invalidSignature(env.id, cluster));
}
