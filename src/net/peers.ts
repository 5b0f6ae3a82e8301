// The peer book: every peer this node has heard of, how it was found, when it was last seen, and the
// reconnect schedule (exponential backoff) for peers it wants to stay connected to. Pure bookkeeping:
// the node feeds it events and asks it when to dial; it does no I/O itself.

export type FoundBy = 'bootstrap' | 'mdns' | 'dht' | 'inbound' | 'dialled';

export interface PeerInfo {
  peerId: string;
  foundBy: FoundBy[];
  connected: boolean;
  /** ms since the epoch: the last connect, disconnect or message */
  lastSeen?: number;
  /** failed dials since the last successful connection */
  failures: number;
}

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 60_000;

/** Delay before the next dial after `failures` failures in a row: 0.5 s, 1 s, 2 s, ... capped at 60 s. */
export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures));
}

interface Entry {
  foundBy: Set<FoundBy>;
  connected: boolean;
  lastSeen?: number;
  failures: number;
  /** when a dial is due (ms since the epoch), if one is scheduled */
  dueAt?: number;
}

export class PeerBook {
  private readonly peers = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  private entry(peerId: string): Entry {
    let e = this.peers.get(peerId);
    if (!e) this.peers.set(peerId, (e = { foundBy: new Set(), connected: false, failures: 0 }));
    return e;
  }

  /** A discovery source named the peer; a dial becomes due at once unless it is connected. */
  found(peerId: string, how: FoundBy): void {
    const e = this.entry(peerId);
    e.foundBy.add(how);
    if (!e.connected && e.dueAt === undefined) e.dueAt = this.now();
  }

  connected(peerId: string, inbound: boolean): void {
    const e = this.entry(peerId);
    if (inbound && e.foundBy.size === 0) e.foundBy.add('inbound');
    e.connected = true;
    e.failures = 0;
    e.dueAt = undefined;
    e.lastSeen = this.now();
  }

  /** The connection ended: a peer we want gets a redial after the backoff delay. */
  disconnected(peerId: string): void {
    const e = this.entry(peerId);
    e.connected = false;
    e.lastSeen = this.now();
    if (this.wanted(e)) e.dueAt = this.now() + backoffDelay(e.failures);
  }

  dialFailed(peerId: string): void {
    const e = this.entry(peerId);
    e.failures++;
    e.dueAt = this.wanted(e) && !e.connected ? this.now() + backoffDelay(e.failures) : undefined;
  }

  seen(peerId: string): void {
    this.entry(peerId).lastSeen = this.now();
  }

  /** Peers whose dial is due now; each is taken off the schedule until the dial's outcome is reported. */
  due(): string[] {
    const now = this.now();
    const out: string[] = [];
    for (const [peerId, e] of this.peers) {
      if (e.dueAt !== undefined && e.dueAt <= now && !e.connected) {
        e.dueAt = undefined;
        out.push(peerId);
      }
    }
    return out;
  }

  /** Peers found by a discovery source (not just ones that dialled in) are worth reconnecting to. */
  private wanted(e: Entry): boolean {
    return [...e.foundBy].some((how) => how !== 'inbound');
  }

  list(): PeerInfo[] {
    return [...this.peers]
      .map(([peerId, e]) => ({ peerId, foundBy: [...e.foundBy].sort(), connected: e.connected, lastSeen: e.lastSeen, failures: e.failures }))
      .sort((a, b) => a.peerId.localeCompare(b.peerId));
  }
}
