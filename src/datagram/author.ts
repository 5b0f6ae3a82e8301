// Author ids: the libp2p PeerID string of an Ed25519 public key, computed without loading libp2p.
import { base58btc } from 'multiformats/bases/base58';

// identity multihash (0x00, length 36) of the protobuf PublicKey { Type: Ed25519 (1), Data: 32 bytes }
const PREFIX = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
const cache = new Map<string, string>();

export function peerIdOf(publicKey: Uint8Array): string {
  const k = authorHex(publicKey);
  let id = cache.get(k);
  if (!id) {
    const bytes = new Uint8Array(PREFIX.length + 32);
    bytes.set(PREFIX);
    bytes.set(publicKey, PREFIX.length);
    id = base58btc.encode(bytes).slice(1); // PeerIDs are written without the multibase prefix
    cache.set(k, id);
  }
  return id;
}

/** An author's key as lowercase hex: the form merge state uses, because its string order is byte order. */
export function authorHex(publicKey: Uint8Array): string {
  // datagrams come in runs by one author: comparing 32 bytes costs less than making the string again
  if (sameBytes(lastKey, publicKey)) return lastHex;
  // a view, not Buffer.from(publicKey), which would copy the key first
  lastHex = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex');
  lastKey = publicKey.slice();
  return lastHex;
}
let lastKey = new Uint8Array(0);
let lastHex = '';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function publicKeyOfPeerId(peerId: string): Uint8Array | undefined {
  try {
    const bytes = base58btc.decode('z' + peerId);
    if (bytes.length !== 38 || PREFIX.some((b, i) => bytes[i] !== b)) return undefined;
    return bytes.slice(PREFIX.length);
  } catch {
    return undefined;
  }
}
