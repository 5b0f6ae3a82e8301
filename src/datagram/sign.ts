// Signing and verifying datagrams with the node's Ed25519 key (the libp2p identity key).
import { assemble, checkUnsigned, envelopeOf, signedPart, signingBytes, withSignature } from './codec.js';
import type { Datagram, Envelope, UnsignedDatagram } from './types.js';
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
    const signed = signingBytes(unsigned);
    const z = this.signBytes(signed);
    return envelopeOf(withSignature(unsigned, z), assemble(signed, z));
  }
}

export function signatureValid(env: Envelope, backend: Ed25519 = ed25519): boolean {
  return backend.verify(signedPart(env.bytes), env.datagram.z, env.datagram.a);
}

/** Throws unless the datagram's signature is valid for its author key and it belongs to `cluster`. */
export function verifyDatagram(env: Envelope, cluster: string): void {
  if (env.datagram.c !== cluster) {
    throw new InvalidDatagramError(`datagram ${env.id} belongs to cluster "${env.datagram.c}", not "${cluster}"`);
  }
  if (!signatureValid(env)) throw new InvalidDatagramError(`datagram ${env.id} has an invalid signature`);
}
