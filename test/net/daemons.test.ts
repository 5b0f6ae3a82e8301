// Daemons as separate processes on 127.0.0.1: updates written on several nodes (through the CLI handing
// them to its daemon, and through a CLI writing alone) propagate, and every data root converges byte for
// byte; a daemon restarted after offline writes publishes that backlog exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Mesh } from '../../src/mesh/mesh.js';
import { Layout } from '../../src/store/paths.js';
import { cocliFiles, tempDir } from '../support/replicas.js';
import { cli, startDaemon, status, stopDaemon, until, type RunningDaemon } from '../support/daemons.js';
import type { Frontier } from '../../src/clock/frontier.js';

async function initRoot(name: string): Promise<string> {
  const root = tempDir(`cm-d-${name}-`);
  await Mesh.init(root, { name, cluster: 'test' });
  return root;
}

const total = (f: Frontier) => Object.values(f).reduce((n, s) => n + s, 0);

async function converged(roots: string[], expected: number): Promise<boolean> {
  const frontiers = await Promise.all(roots.map(async (r) => (await status(r)).frontier));
  return frontiers.every((f) => total(f) === expected && JSON.stringify(Object.entries(f).sort()) === JSON.stringify(Object.entries(frontiers[0]!).sort()));
}

test('four daemons: updates from several nodes propagate and all data roots converge byte-identically', async () => {
  const names = ['alpha', 'beta', 'gamma', 'delta'];
  const roots = await Promise.all(names.map(initRoot));
  const daemons: RunningDaemon[] = [];
  try {
    daemons.push(await startDaemon(roots[0]!));
    // beta and gamma know only alpha; delta knows only gamma
    daemons.push(...(await Promise.all([1, 2].map((i) => startDaemon(roots[i]!, ['--bootstrap', daemons[0]!.address])))));
    daemons.push(await startDaemon(roots[3]!, ['--bootstrap', daemons[2]!.address]));
    await until(async () => (await Promise.all(roots.map(status))).every((s) => s.peers.topic >= 1), 'every node on the topic');

    // concurrent writes to one field and one tag set from three nodes, through their daemons
    const writes = await Promise.all([
      cli(roots[0]!, 'update', 'companies/acme-inc', 'name=Acme Inc', '--add', 'tags=vip', 'phone=01234'),
      cli(roots[1]!, 'update', 'companies/acme-inc', 'name=ACME', '--add', 'tags=lead'),
      cli(roots[2]!, 'update', 'companies/globex', 'name=Globex', 'employees=120'),
      cli(roots[3]!, 'update', 'people/jane-doe', 'name=Jane Doe', 'email=jane@example.com'),
    ]);
    for (const w of writes) assert.equal(w.code, 0, w.stderr);
    // a CLI writing alone next to a running daemon: the daemon picks it up and publishes it
    const alone = await cli(roots[1]!, 'update', 'companies/globex', '--add', 'tags=partner', '--no-daemon');
    assert.equal(alone.code, 0, alone.stderr);

    const expected = 4 + 5; // four init announcements, five updates
    await until(() => converged(roots, expected), 'all frontiers equal');
    const published = (await Promise.all(roots.map(status))).map((s) => s.published);
    assert.deepEqual(published, [2, 3, 2, 2], 'every own datagram published exactly once (announcement + updates)');
  } finally {
    await Promise.all(daemons.map(stopDaemon));
  }
  const files = roots.map(cocliFiles);
  for (const f of ['companies/acme-inc/_index.md', 'companies/globex/tags.lst', 'people/jane-doe/jane-doe.md']) assert.ok(f in files[0]!, `${f} rendered`);
  for (const f of files.slice(1)) assert.deepEqual(f, files[0]);
  const acme = await (await Mesh.open(roots[0]!)).read('companies/acme-inc');
  assert.deepEqual([...(acme.fields.tags as string[])].sort(), ['lead', 'vip']);
  // whether the two name writes were concurrent depends on timing; either way one deterministic winner
  assert.ok(['Acme Inc', 'ACME'].includes(acme.fields.name as string));
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

test('CLI without a daemon writes locally; the restarted daemon publishes that backlog exactly once', async () => {
  const roots = await Promise.all(['one', 'two'].map(initRoot));
  const one = await startDaemon(roots[0]!);
  let two = await startDaemon(roots[1]!, ['--bootstrap', one.address]);
  try {
    await until(async () => (await status(roots[1]!)).peers.topic >= 1, 'two on the topic');
    await stopDaemon(two);
    const offline = (await cli(roots[1]!, 'status', '--json')).stdout;
    assert.equal(JSON.parse(offline).running, false);
    for (let i = 0; i < 3; i++) {
      const w = await cli(roots[1]!, 'update', `companies/offline-${i}`, `name=Offline ${i}`);
      assert.equal(w.code, 0, w.stderr);
    }
    two = await startDaemon(roots[1]!, ['--bootstrap', one.address]);
    await until(async () => total((await status(roots[0]!)).frontier) === 5, 'the backlog on one');
    assert.equal((await status(roots[1]!)).published, 3, 'the three offline writes, once');
    await stopDaemon(two);
    two = await startDaemon(roots[1]!, ['--bootstrap', one.address]);
    await until(async () => (await status(roots[1]!)).peers.topic >= 1, 'two back on the topic');
    assert.equal((await status(roots[1]!)).published, 0, 'nothing published twice after another restart');
    const mark = JSON.parse(fs.readFileSync(new Layout(roots[1]!).published, 'utf8'));
    assert.equal(mark.seq, 4);
  } finally {
    await Promise.all([stopDaemon(one), stopDaemon(two)]);
  }
  assert.deepEqual(cocliFiles(roots[0]!), cocliFiles(roots[1]!));
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});

test('peers, ping and status over the control socket; a second daemon on one data root is refused', async () => {
  const roots = await Promise.all(['p1', 'p2'].map(initRoot));
  const a = await startDaemon(roots[0]!);
  const b = await startDaemon(roots[1]!, ['--bootstrap', a.address]);
  try {
    await until(async () => (await status(roots[1]!)).peers.connected >= 1, 'a connection');
    const peers = await cli(roots[1]!, 'peers', '--json');
    assert.equal(peers.code, 0, peers.stderr);
    const list = JSON.parse(peers.stdout) as { peerId: string; connected: boolean; foundBy: string[]; addresses: string[] }[];
    const pa = list.find((p) => p.peerId === a.info.peerId);
    assert.ok(pa && pa.connected && pa.foundBy.includes('bootstrap') && pa.addresses.length > 0, peers.stdout);
    const ping = await cli(roots[1]!, 'ping', a.info.peerId, '--count', '2', '--json');
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal(JSON.parse(ping.stdout).rtts.length, 2);
    const text = await cli(roots[0]!, 'status');
    assert.match(text.stdout, /daemon\s+running/);
    // the control socket sits in a folder only the owner may enter, so nobody else can connect even
    // in the moment between its creation and its chmod
    const { socket } = JSON.parse(fs.readFileSync(path.join(roots[0]!, '.mesh', 'daemon.json'), 'utf8')) as { socket: string };
    assert.equal(fs.statSync(path.dirname(socket)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    const second = await cli(roots[0]!, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns');
    assert.equal(second.code, 3, 'refused');
    assert.match(second.stderr, /already runs/);
    const bad = await cli(roots[0]!, 'ping', 'not-a-peer');
    assert.equal(bad.code, 1);
  } finally {
    await Promise.all([stopDaemon(a), stopDaemon(b)]);
  }
  const none = await cli(roots[0]!, 'peers');
  assert.equal(none.code, 5, 'no daemon: exit 5');
  assert.match(none.stderr, /no daemon is running/);
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
});
