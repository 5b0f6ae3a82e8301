// The daemon's network settings: the "daemon" section of <root>/.mesh/config.json, overridden by flags.
// Validated completely before anything starts, so a bad address names itself instead of crashing later.
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { ConfigError, type NodeConfig } from '../identity/identity.js';

export const DEFAULT_PORT = 4717;

export interface DaemonConfig {
  /** multiaddrs to listen on */
  listen: string[];
  /** /ip4/.../tcp/.../p2p/<PeerID> addresses of peers to dial at start (off-LAN peers) */
  bootstrap: string[];
  /** multicast DNS discovery on the local subnet */
  mdns: boolean;
  /** the cluster's private Kademlia DHT (finds peers by PeerID) */
  dht: boolean;
  /** when given, only datagrams by these PeerIDs are accepted */
  trusted?: string[];
  /** minutes between automatic compactions under the config's compaction policy; 0 = never */
  compactEveryMinutes: number;
}

export const DEFAULT_DAEMON: DaemonConfig = {
  listen: [`/ip4/0.0.0.0/tcp/${DEFAULT_PORT}`],
  bootstrap: [],
  mdns: true,
  dht: true,
  compactEveryMinutes: 10,
};

export type DaemonOverrides = Partial<DaemonConfig>;

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new ConfigError(`${where} must be a list of strings`);
  return value as string[];
}

function checkAddresses(list: string[], where: string, needPeer: boolean): void {
  for (const addr of list) {
    let ma;
    try {
      ma = multiaddr(addr);
    } catch (err) {
      throw new ConfigError(`${where}: "${addr}" is not a multiaddr: ${(err as Error).message}`);
    }
    const peer = ma.getComponents().find((c) => c.name === 'p2p')?.value;
    if (needPeer && !peer) throw new ConfigError(`${where}: "${addr}" must end in /p2p/<PeerID>`);
    if (peer) {
      try {
        peerIdFromString(peer);
      } catch {
        throw new ConfigError(`${where}: "${addr}" names an invalid PeerID`);
      }
    }
  }
}

/** The effective daemon settings: defaults, then the config file's "daemon" section, then flags. */
export function daemonConfig(config: NodeConfig, where: string, overrides: DaemonOverrides = {}): DaemonConfig {
  const raw = (config as unknown as { daemon?: unknown }).daemon;
  const out: DaemonConfig = { ...DEFAULT_DAEMON };
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: "daemon" must be an object`);
    const d = raw as Record<string, unknown>;
    const known = new Set(['listen', 'bootstrap', 'mdns', 'dht', 'trusted', 'compactEveryMinutes']);
    for (const key of Object.keys(d)) if (!known.has(key)) throw new ConfigError(`${where}: unknown setting "daemon.${key}" (known: ${[...known].join(', ')})`);
    if (d.listen !== undefined) out.listen = stringList(d.listen, `${where}: "daemon.listen"`);
    if (d.bootstrap !== undefined) out.bootstrap = stringList(d.bootstrap, `${where}: "daemon.bootstrap"`);
    if (d.trusted !== undefined) out.trusted = stringList(d.trusted, `${where}: "daemon.trusted"`);
    for (const key of ['mdns', 'dht'] as const) {
      if (d[key] !== undefined) {
        if (typeof d[key] !== 'boolean') throw new ConfigError(`${where}: "daemon.${key}" must be true or false`);
        out[key] = d[key] as boolean;
      }
    }
    if (d.compactEveryMinutes !== undefined) {
      if (typeof d.compactEveryMinutes !== 'number' || !(d.compactEveryMinutes >= 0)) throw new ConfigError(`${where}: "daemon.compactEveryMinutes" must be a number >= 0`);
      out.compactEveryMinutes = d.compactEveryMinutes;
    }
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  if (out.listen.length === 0) throw new ConfigError(`${where}: the daemon needs at least one listen address`);
  checkAddresses(out.listen, `${where}: listen`, false);
  checkAddresses(out.bootstrap, `${where}: bootstrap`, true);
  for (const id of out.trusted ?? []) {
    try {
      peerIdFromString(id);
    } catch {
      throw new ConfigError(`${where}: trusted: "${id}" is not a PeerID`);
    }
  }
  return out;
}
