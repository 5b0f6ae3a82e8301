// The gossip layer on real libp2p nodes over 127.0.0.1: a write on one node is applied on the other, and
// forged, malformed or wrong-cluster messages from a raw peer are rejected without touching anything.
import '../../src/net/polyfill.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dagCbor from '@ipld/dag-cbor';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { MeshNode } from '../../src/net/node.js';
import { topicOf } from '../../src/net/gossip.js';
import { Mesh } from '../../src/mesh/mesh.js';
import type { Envelope } from '../../src/datagram/types.js';
import { cocliFiles, missingBytes, newReplica, removeRoots } from '../support/replicas.js';
import { until } from '../support/daemons.js';

/** Gossip carries new datagrams only; catching up on older ones is the sync protocol's job (a later issue). */
async function exchangeHistory(x: Mesh, y: Mesh): Promise<void> {
  for (const [from, to] of [[x, y], [y, x]] as const) {
    const envs = await missingBytes(from, to);
    await to.importDatagrams(envs.map((e) => ({ bytes: e.bytes })));
  }
}

test('an update on one node is applied on the other within moments', async () => {
  const a = await newReplica('gossip-a');
  const b = await newReplica('gossip-b');
  await exchangeHistory(a, b);
  const na = await MeshNode.start(a);
  const nb = await MeshNode.start(b, { bootstrap: na.addresses() });
  try {
    await until(() => na.topicPeers().includes(nb.peerId) && nb.topicPeers().includes(na.peerId), 'topic peers');
    const heard: Envelope[] = [];
    b.subscribe((env, origin) => origin === 'remote' && heard.push(env));
    const sent = await a.update('companies/acme-inc', [['s', 'name', 'Acme'], ['+', 'tags', 'vip']]);
    // polling keeps the event loop alive (libp2p's sockets do not), so a lost message fails, never hangs
    await until(() => heard.some((e) => e.id === sent.id), 'the datagram on b');
    assert.ok(b.store.index.has(sent.id), 'applied and durable when announced');
    await b.flush();
    assert.deepEqual(cocliFiles(b.root), cocliFiles(a.root));
    assert.equal(na.stats.published, 2, "the announcement from init (backlog) and the update");

    // a write by another process on a's data root (a CLI next to the node) is picked up and published
    const cli = await Mesh.open(a.root);
    const byCli = await cli.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    await until(() => heard.some((e) => e.id === byCli.id), 'the CLI write on b');
    assert.equal((await b.read('companies/acme-inc')).fields.domain, 'acme.com');
    assert.equal(na.stats.published, 3, "published exactly once");
  } finally {
    await na.stop();
    await nb.stop();
    removeRoots(a, b);
  }
});

test('forged, malformed and wrong-cluster messages are rejected; honest traffic is unaffected', async () => {
  const a = await newReplica('honest');
  const b = await newReplica('victim');
  const other = await newReplica('other-cluster', {}, 'another-cluster');
  await exchangeHistory(a, b);
  const na = await MeshNode.start(a);
  const nb = await MeshNode.start(b, { bootstrap: na.addresses() });
  const raw = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, globalSignaturePolicy: 'StrictNoSign' }) },
  });
  const pubsub = raw.services.pubsub as GossipSub;
  const topic = topicOf('test');
  try {
    pubsub.subscribe(topic);
    await raw.dial(multiaddr(nb.addresses()[0]!));
    await until(() => pubsub.getSubscribers(topic).map(String).includes(nb.peerId), 'raw peer sees b');
    const before = JSON.stringify(b.frontier());

    const good = await a.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    const forged = new Uint8Array(good.bytes);
    forged[forged.length - 1] ^= 1; // the last byte is inside the signature
    const wrongCluster = await other.update('companies/acme-inc', [['s', 'name', 'Evil']]);
    await pubsub.publish(topic, new Uint8Array([1, 2, 3, 4]));
    await pubsub.publish(topic, dagCbor.encode([forged]));
    await pubsub.publish(topic, dagCbor.encode([wrongCluster.bytes]));
    await until(() => nb.stats.rejected >= 3, 'three rejections');
    assert.match(nb.stats.lastError ?? '', /rejected/);

    // honest traffic still flows, and only it was applied
    await until(() => b.store.index.has(good.id), 'the honest datagram');
    const honest = await a.update('companies/acme-inc', [['s', 'domain', 'acme.com']]);
    await until(() => b.store.index.has(honest.id), 'a later honest datagram');
    assert.ok(!b.store.index.has(wrongCluster.id));
    assert.equal((await b.read('companies/acme-inc')).fields.name, 'Acme');
    assert.notEqual(JSON.stringify(b.frontier()), before);
    assert.deepEqual(Object.keys(b.frontier()).sort(), [a.peerId, b.peerId].sort());
  } finally {
    await raw.stop();
    await na.stop();
    await nb.stop();
    removeRoots(a, b, other);
  }
});

test('in a line of four nodes (each knows only its neighbours), an update crosses by gossip to the far end', async () => {
  const meshes = [await newReplica('line-a'), await newReplica('line-b'), await newReplica('line-c'), await newReplica('line-d')];
  for (const x of meshes) for (const y of meshes) if (x !== y) await exchangeHistory(x, y);
  const gossiped: string[] = [];
  const nodes: MeshNode[] = [];
  try {
    // no DHT: a node dials only its bootstrap peer, so the line stays a line
    for (const [i, m] of meshes.entries()) {
      const last = i === meshes.length - 1;
      nodes.push(await MeshNode.start(m, {
        dht: false,
        bootstrap: i === 0 ? [] : [`${nodes[i - 1]!.addresses()[0]}/p2p/${nodes[i - 1]!.peerId}`],
        onMessage: last ? (envs) => gossiped.push(...envs.map((e) => e.id)) : undefined,
      }));
    }
    const [na, nb, nc, nd] = nodes as [MeshNode, MeshNode, MeshNode, MeshNode];
    await until(() => na.topicPeers().length === 1 && nb.topicPeers().length === 2 && nc.topicPeers().length === 2 && nd.topicPeers().length === 1, 'the line');
    assert.deepEqual(nd.topicPeers(), [nc.peerId], 'the far end is connected to its neighbour only');
    const sent = await meshes[0]!.update('companies/acme-inc', [['s', 'name', 'Acme']]);
    await until(() => gossiped.includes(sent.id), 'the update at the far end, in a gossip message');
    await until(() => meshes[3]!.store.index.has(sent.id), 'the update applied at the far end');
  } finally {
    for (const n of nodes) await n.stop();
    removeRoots(...meshes);
  }
});
