// Finding peers: through the private DHT (a node that knows only one peer pings another by PeerID
// alone), and through mDNS inside network namespaces this test creates (two daemons with no bootstrap
// list find each other and exchange a datagram).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { MeshNode } from '../../src/net/node.js';
import { Mesh } from '../../src/mesh/mesh.js';
import { newReplica, removeRoots, tempDir } from '../support/replicas.js';
import { cli, startDaemon, status, stopDaemon, until, type RunningDaemon } from '../support/daemons.js';

test('DHT: node C knows only node B, and pings node A by its PeerID', async () => {
  const [a, b, c] = await Promise.all(['dht-a', 'dht-b', 'dht-c'].map((n) => newReplica(n)));
  const na = await MeshNode.start(a!);
  const nb = await MeshNode.start(b!, { bootstrap: na.addresses() });
  await until(() => nb.libp2p.getPeers().length === 1, 'b connected to a');
  const nc = await MeshNode.start(c!, { bootstrap: nb.addresses() });
  try {
    const known = nc.peers.list().map((p) => p.peerId);
    assert.ok(!known.includes(na.peerId), 'c starts knowing nothing of a');
    const { rtts } = await nc.ping(na.peerId, 2);
    assert.equal(rtts.length, 2);
    assert.ok(rtts.every((ms) => ms >= 0));
    const viaC = nc.peers.list().find((p) => p.peerId === na.peerId);
    assert.ok(viaC, 'a is in c\'s peer book');
    // found through the DHT (a may also have dialled c after finding it the same way), never configured
    assert.ok(viaC.foundBy.includes('dht') && !viaC.foundBy.includes('bootstrap'), viaC.foundBy.join());
  } finally {
    await Promise.all([na.stop(), nb.stop(), nc.stop()]);
    removeRoots(a!, b!, c!);
  }
});

/** Runs `ip` and throws with its output on failure. */
function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

function namespacesUsable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = `cmprobe${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot create network namespaces here: ${(r.stderr || r.error?.message || '').trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

const why = namespacesUsable();

test('mDNS: two daemons in their own network namespaces find each other with no bootstrap list', { skip: why }, async () => {
  const tag = `${process.pid % 10000}`;
  const ns = [`cm-a-${tag}`, `cm-b-${tag}`];
  const veth = [`cma${tag}`, `cmb${tag}`];
  const addr = ['10.77.0.1', '10.77.0.2'];
  const roots: string[] = [];
  const daemons: RunningDaemon[] = [];
  try {
    for (const n of ns) ip('netns', 'add', n);
    ip('link', 'add', veth[0]!, 'type', 'veth', 'peer', 'name', veth[1]!);
    for (let i = 0; i < 2; i++) {
      ip('link', 'set', veth[i]!, 'netns', ns[i]!);
      ip('-n', ns[i]!, 'addr', 'add', `${addr[i]}/24`, 'dev', veth[i]!);
      ip('-n', ns[i]!, 'link', 'set', veth[i]!, 'up', 'multicast', 'on');
      ip('-n', ns[i]!, 'link', 'set', 'lo', 'up');
      ip('-n', ns[i]!, 'route', 'add', '224.0.0.0/4', 'dev', veth[i]!);
      const root = tempDir(`cm-mdns-${i}-`);
      await Mesh.init(root, { name: `mdns-${i}`, cluster: 'test' });
      roots.push(root);
    }
    for (let i = 0; i < 2; i++) {
      daemons.push(await startDaemon(roots[i]!, ['--listen', `/ip4/${addr[i]}/tcp/0`], { prefix: ['ip', 'netns', 'exec', ns[i]!], mdns: true }));
    }
    await until(async () => (await status(roots[1]!)).peers.topic >= 1, 'the daemons to find each other by mDNS', 30_000);
    const peers = JSON.parse((await cli(roots[1]!, 'peers', '--json')).stdout) as { peerId: string; foundBy: string[] }[];
    assert.ok(peers.find((p) => p.peerId === daemons[0]!.info.peerId)?.foundBy.includes('mdns') || peers.some((p) => p.foundBy.includes('inbound')), JSON.stringify(peers));
    const w = await cli(roots[0]!, 'update', 'companies/over-mdns', 'name=Over mDNS');
    assert.equal(w.code, 0, w.stderr);
    await until(() => fs.existsSync(`${roots[1]}/companies/over-mdns/_index.md`), 'the update on the other namespace\'s node');
  } finally {
    await Promise.all(daemons.map(stopDaemon));
    for (const n of ns) spawnSync('ip', ['netns', 'del', n]);
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  }
});
