// Child process of bench/orbitdb.ts: one OrbitDB peer over 127.0.0.1, in a process of its own so that
// OrbitDB's and Helia's globals never reach the bench's process, and so that the two peers, like two
// machines, do not share one event loop.
//   node orbitdb-child.js a N DIR          peer A: a keyvalue database, N puts (before any clock starts);
//                                          prints {"ready":true,address,peerId,port}, serves until stdin closes
//   node orbitdb-child.js b N DIR ADDR MA  peer B, fresh (empty directory): dials A at the multiaddr MA (the
//                                          parent's counting relay), opens database ADDR and times the
//                                          catch-up from the dial until it holds all N entries; prints
//                                          {"done":true} at that moment, then one result line:
//                                          { entries, seconds, entriesPerSecond, wireBytes: 0, ok, error? }
// DIR must not exist yet; the child makes it and removes it when it ends (the parent removes what a killed
// child leaves).
//
// Network: each node is built here with an explicit libp2p configuration (TCP on 127.0.0.1, noise, yamux,
// identify, gossipsub) and no discovery, DHT, relay, WebRTC, websockets, autonat, upnp or dcutr. Helia
// is made from @helia/utils' Helia class with bitswap as its only block broker and no routers, so nothing
// asks an HTTP gateway or a delegated router. Connection gaters refuse every other dial: A dials nothing
// new, B only the relay's address.
import '../src/net/polyfill.js';
import fs from 'node:fs';
import path from 'node:path';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub } from '@libp2p/gossipsub';
import type { Multiaddr } from '@multiformats/multiaddr';
import { multiaddr } from '@multiformats/multiaddr';
import { Helia } from '@helia/utils';
import { bitswap } from '@helia/block-brokers';
import { LevelBlockstore } from 'blockstore-level';
import { MemoryDatastore } from 'datastore-core';
import { createOrbitDB, type OrbitDB, type OrbitKeyValue } from '@orbitdb/core';

interface Peer {
  libp2p: Libp2p;
  helia: Helia<Libp2p>;
  blockstore: LevelBlockstore;
  orbit: OrbitDB;
}

const VALUE_BYTES = 100;

/** a value of VALUE_BYTES characters (ASCII, so as many bytes), different for each i */
function valueOf(i: number): string {
  const head = `value-${i}-`;
  return head + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3).slice(0, VALUE_BYTES - head.length);
}

async function startPeer(dir: string, id: string, listen: string[], allowDial: (ma: Multiaddr) => boolean): Promise<Peer> {
  const libp2p = await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: [],
    connectionGater: {
      denyDialMultiaddr: (ma: Multiaddr) => !allowDial(ma),
    },
    services: {
      identify: identify(),
      // OrbitDB publishes every put; with no peer yet on the topic that must not fail
      pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    },
  });
  const blockstore = new LevelBlockstore(path.join(dir, 'blocks'));
  await blockstore.open();
  const helia = new Helia<Libp2p>({
    libp2p,
    blockstore,
    // the datastore only holds Helia's pins here; datastore-core's major is one ahead of Helia 6's types
    datastore: new MemoryDatastore() as never,
    blockBrokers: [bitswap()],
    routers: [],
  });
  await helia.start();
  const orbit = await createOrbitDB({ ipfs: helia, id, directory: path.join(dir, 'orbitdb') });
  return { libp2p, helia, blockstore, orbit };
}

async function stopPeer(peer: Peer | undefined): Promise<void> {
  if (!peer) return;
  await peer.orbit.stop().catch(() => {});
  await peer.helia.stop().catch(() => {});
  await peer.blockstore.close().catch(() => {});
}

function tcpPort(addrs: Multiaddr[]): number {
  for (const ma of addrs) {
    const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)/.exec(ma.toString());
    if (m) return Number(m[1]);
  }
  throw new Error(`peer A has no TCP address on 127.0.0.1: ${addrs.map(String).join(' ')}`);
}

/** resolves once db holds n entries; checks on every update event and, as a fallback, every second */
function whenHolds(db: OrbitKeyValue, n: number): { done: Promise<void>; cancel: () => void } {
  let checking = false;
  let again = false;
  let finished = false;
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const check = async (): Promise<void> => {
    if (finished) return;
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      do {
        again = false;
        const count = (await db.all()).length;
        if (count >= n) {
          finish();
          resolve();
          return;
        }
      } while (again && !finished);
    } catch (e) {
      finish();
      reject(e);
    } finally {
      checking = false;
    }
  };
  // db.all() reads the whole database: calling it on every update would make the wait itself slow OrbitDB
  // down (quadratically in n). Count the keys the update events name, and confirm with db.all() at the end.
  const keys = new Set<string>();
  const onUpdate = (entry: unknown): void => {
    const key = (entry as { payload?: { key?: unknown } } | undefined)?.payload?.key;
    if (typeof key === 'string') keys.add(key);
    if (keys.size >= n) void check();
  };
  const timer = setInterval(() => void check(), 5000);
  const finish = (): void => {
    finished = true;
    clearInterval(timer);
    db.events.off('update', onUpdate);
  };
  db.events.on('update', onUpdate);
  void check();
  return { done, cancel: finish };
}

const print = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

/** closes the peer, but gives up after ms (the parent kills a child that hangs anyway) */
async function stopWithin(peer: Peer | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stopPeer(peer), new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

async function runA(n: number, dir: string): Promise<void> {
  let a: Peer | undefined;
  try {
    // peer A: listens on 127.0.0.1 and never dials (the heads exchange with B reuses B's connection)
    a = await startPeer(dir, 'peer-a', ['/ip4/127.0.0.1/tcp/0'], () => false);
    const db = await a.orbit.open('cocli-mesh-bench', { type: 'keyvalue' });
    for (let i = 0; i < n; i++) await db.put(`k${i}`, valueOf(i));
    print({ ready: true, address: db.address, peerId: a.libp2p.peerId.toString(), port: tcpPort(a.libp2p.getMultiaddrs()) });
    // serve until the parent closes stdin (or dies)
    await new Promise<void>((resolve) => {
      process.stdin.on('end', resolve).on('close', resolve).on('error', () => resolve());
      process.stdin.resume();
    });
  } finally {
    await stopWithin(a, 20_000);
  }
}

async function runB(n: number, dir: string, address: string, dialTo: string): Promise<void> {
  let b: Peer | undefined;
  try {
    const target = multiaddr(dialTo);
    const allowed = dialTo.replace(/\/p2p\/.*$/, '');
    // peer B: fresh, empty directory, no listen address; it may dial the relay's address and nothing else
    b = await startPeer(dir, 'peer-b', [], (ma) => ma.toString().replace(/\/p2p\/.*$/, '') === allowed);

    const t0 = performance.now();
    await b.libp2p.dial(target);
    const db = await b.orbit.open(address);
    const syncErrors: string[] = [];
    db.sync.events.on('error', (e) => syncErrors.push(e instanceof Error ? e.message : String(e)));
    const wait = whenHolds(db, n);
    try {
      await wait.done;
    } finally {
      wait.cancel();
    }
    const seconds = (performance.now() - t0) / 1000;
    print({ done: true }); // the parent reads the relay's byte count now
    const entries = (await db.all()).length;
    const last = await db.get(`k${n - 1}`);
    const ok = entries === n && last === valueOf(n - 1);
    print({
      entries,
      seconds,
      entriesPerSecond: entries / seconds,
      wireBytes: 0,
      ok,
      ...(ok ? {} : { error: `B holds ${entries} of ${n} entries; value of k${n - 1} ${last === valueOf(n - 1) ? 'matches' : 'differs'}` }),
      ...(syncErrors.length ? { syncErrors: syncErrors.slice(0, 3) } : {}),
    });
  } finally {
    await stopWithin(b, 20_000);
  }
}

async function main(): Promise<void> {
  const [role, count, dir, address, dialTo] = process.argv.slice(2);
  const n = Number(count);
  if ((role !== 'a' && role !== 'b') || !Number.isInteger(n) || n < 1 || !dir || (role === 'b' && (!address || !dialTo))) {
    throw new Error(`usage: orbitdb-child.js a N DIR | b N DIR ADDRESS MULTIADDR (got ${process.argv.slice(2).join(' ')})`);
  }
  fs.mkdirSync(dir); // fails if it exists: a fresh peer starts empty
  try {
    if (role === 'a') await runA(n, dir);
    else await runB(n, dir, address!, dialTo!);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    process.stdout.write(JSON.stringify({ entries: 0, seconds: 0, entriesPerSecond: 0, wireBytes: 0, ok: false, error }) + '\n');
    process.exit(1);
  },
);
