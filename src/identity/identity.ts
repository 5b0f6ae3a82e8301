// Node identity: the Ed25519 key (the node's libp2p identity; its PeerID is the author id) and the
// node's config, both under <root>/.mesh/. The key file holds libp2p's protobuf private-key bytes, mode 0600.
import fs from 'node:fs';
import os from 'node:os';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { Signer } from '../datagram/sign.js';
import { Layout } from '../store/paths.js';
import { writeFileAtomic } from '../store/atomic.js';

export interface NodeConfig {
  /** human-readable node name, shown wherever this node's datagrams appear */
  name: string;
  /** cluster id signed into every datagram */
  cluster: string;
  /** when a long-running node (and `compact --auto`) compacts an entity */
  compaction?: { maxLiveDatagrams?: number; maxAgeHours?: number };
}

export interface Identity {
  privateKey: Ed25519PrivateKey;
  peerId: string;
  publicKey: Uint8Array;
  signer: Signer;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const CLUSTER_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function validateConfig(raw: unknown, where: string): NodeConfig {
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(`${where}: the config must be a JSON object`);
  const c = raw as Record<string, unknown>;
  if (typeof c.name !== 'string' || c.name.trim() === '' || c.name.length > 64 || /[\u0000-\u001f]/.test(c.name)) {
    throw new ConfigError(`${where}: "name" must be a non-empty string of at most 64 characters`);
  }
  if (typeof c.cluster !== 'string' || !CLUSTER_ID.test(c.cluster)) {
    throw new ConfigError(`${where}: "cluster" must be 1 to 64 characters of A-Z a-z 0-9 . _ -`);
  }
  if (c.compaction !== undefined) {
    const p = c.compaction as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) throw new ConfigError(`${where}: "compaction" must be an object`);
    for (const k of ['maxLiveDatagrams', 'maxAgeHours']) {
      if (p[k] !== undefined && (typeof p[k] !== 'number' || !((p[k] as number) > 0))) {
        throw new ConfigError(`${where}: "compaction.${k}" must be a positive number`);
      }
    }
  }
  return { ...(c as object), name: c.name, cluster: c.cluster } as NodeConfig;
}

export async function createIdentity(root: string, opts: { name?: string; cluster?: string }): Promise<NodeConfig> {
  const layout = new Layout(root);
  if (fs.existsSync(layout.keyFile)) throw new ConfigError(`${layout.keyFile} already exists: this data root is already initialised`);
  const config = validateConfig({ name: opts.name ?? os.hostname(), cluster: opts.cluster ?? 'cocli' }, 'init');
  fs.mkdirSync(layout.mesh, { recursive: true });
  const key = await generateKeyPair('Ed25519');
  writeFileAtomic(layout.keyFile, privateKeyToProtobuf(key), { mode: 0o600 });
  fs.chmodSync(layout.keyFile, 0o600);
  writeFileAtomic(layout.configFile, JSON.stringify(config, null, 2) + '\n');
  return config;
}

export function loadConfig(root: string): NodeConfig {
  const layout = new Layout(root);
  let text: string;
  try {
    text = fs.readFileSync(layout.configFile, 'utf8');
  } catch {
    throw new ConfigError(`${layout.configFile} is missing: run "cocli-mesh init" on this data root first`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${layout.configFile}: not valid JSON (${(err as Error).message})`);
  }
  return validateConfig(raw, layout.configFile);
}

export function loadIdentity(root: string): Identity {
  const layout = new Layout(root);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(layout.keyFile);
  } catch {
    throw new ConfigError(`${layout.keyFile} is missing: run "cocli-mesh init" on this data root first`);
  }
  let key;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new ConfigError(`${layout.keyFile}: not a libp2p private key (${(err as Error).message})`);
  }
  if (key.type !== 'Ed25519') throw new ConfigError(`${layout.keyFile}: the key must be Ed25519, not ${key.type}`);
  const publicKey = key.publicKey.raw;
  return {
    privateKey: key,
    peerId: peerIdFromPrivateKey(key).toString(),
    publicKey,
    signer: new Signer(key.raw.subarray(0, 32), publicKey),
  };
}
