// Ed25519 for the hot path. libsodium (the optional `sodium-native` package, prebuilt for Linux x64 and
// arm64, macOS and Windows) signs about 3x and verifies about 2x faster than node:crypto here; where it
// is not installed, or COCLI_MESH_CRYPTO=node, node:crypto with cached KeyObjects is used. Ed25519
// signatures are deterministic, so both produce identical bytes.
import { createRequire } from 'node:module';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

export interface Ed25519 {
  readonly name: string;
  signer(seed: Uint8Array, publicKey: Uint8Array): (message: Uint8Array) => Uint8Array;
  verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

export const nodeEd25519: Ed25519 = (() => {
  const publicKeys = new Map<string, KeyObject>();
  const publicKeyObject = (raw: Uint8Array): KeyObject => {
    const id = Buffer.from(raw).toString('base64');
    let key = publicKeys.get(id);
    if (!key) {
      key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
      if (publicKeys.size > 10_000) publicKeys.clear();
      publicKeys.set(id, key);
    }
    return key;
  };
  return {
    name: 'node:crypto',
    signer(seed) {
      const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
      return (message) => new Uint8Array(sign(null, message, key));
    },
    verify(message, signature, publicKey) {
      try {
        return verify(null, message, publicKeyObject(publicKey), signature);
      } catch {
        return false;
      }
    },
  };
})();

interface Sodium {
  crypto_sign_detached(sig: Buffer, msg: Uint8Array, sk: Buffer): void;
  crypto_sign_verify_detached(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean;
}

function sodiumEd25519(): Ed25519 | undefined {
  if (process.env.COCLI_MESH_CRYPTO === 'node') return undefined;
  let sodium: Sodium;
  try {
    sodium = createRequire(import.meta.url)('sodium-native') as Sodium;
  } catch {
    return undefined;
  }
  return {
    name: 'libsodium',
    signer(seed, publicKey) {
      const secret = Buffer.concat([seed, publicKey]); // libsodium's 64-byte secret key: seed || public key
      return (message) => {
        const sig = Buffer.alloc(64);
        sodium.crypto_sign_detached(sig, message, secret);
        return new Uint8Array(sig.buffer, sig.byteOffset, 64);
      };
    },
    verify(message, signature, publicKey) {
      if (signature.length !== 64 || publicKey.length !== 32) return false;
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey);
      } catch {
        return false;
      }
    },
  };
}

export const ed25519: Ed25519 = sodiumEd25519() ?? nodeEd25519;
