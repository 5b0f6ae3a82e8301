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

/** Whether the datagram's signature is its author's, over its fields and `cluster`. */
export function signatureValid(env: Envelope, cluster: string, backend: Ed25519 = ed25519): boolean {
  return backend.verify(signingMessageOf(env.bytes, cluster), env.datagram.z, env.datagram.a);
}

/**
 * Throws unless the datagram's signature is valid for its author key and `cluster`. The cluster id is
 * signed but not sent, so a datagram of another cluster fails here like a forged one.
 */
export function verifyDatagram(env: Envelope, cluster: string): void {
  if (!signatureValid(env, cluster)) throw new InvalidDatagramError(`datagram ${env.id} has an invalid signature (or belongs to another cluster than "${cluster}")`);
}
