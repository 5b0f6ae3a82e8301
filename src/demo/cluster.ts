// `npm start`: a real 3-node cluster on 127.0.0.1. Three `cocli-mesh daemon` processes on temporary data
// roots (bootstrap on loopback, mDNS off) find each other; a laptop with an existing cocli CRM shares it;
// an update written on one node is shown arriving on the others; two nodes then write the same field at
// once and all three converge; everything stops cleanly and the data roots are left to look at.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Mesh } from '../mesh/mesh.js';
import { renderDocument } from '../cocli/document.js';
import { renderTagsList } from '../cocli/tags.js';
import { callDaemon, runningDaemon } from '../daemon/control.js';
import type { DaemonStatus } from '../daemon/daemon.js';

const BIN = fileURLToPath(new URL('../../../bin/cocli-mesh.js', import.meta.url));
const run = promisify(execFile);
const NODES = ['laptop', 'pi-scraper-1', 'cloud-worker'];
const SAMPLES = [
  { slug: 'acme-inc', name: 'Acme Inc', domain: 'acme.com', tags: ['prospect'], zip_code: '01234', body: 'Roofing supplier; met at the 2026 trade show.' },
  { slug: 'bright-dental', name: 'Bright Dental', domain: 'brightdental.example', tags: ['lead'], zip_code: '78701', body: '' },
];

const t0 = Date.now();
const say = (text: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(2).padStart(6)} s  ${text}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

async function cli(root: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BIN, '--data', root, ...args]);
  return stdout.trim();
}

async function status(root: string): Promise<DaemonStatus> {
  const res = await callDaemon(root, { cmd: 'status' });
  if (!res?.ok) throw new Error(`no status from ${root}`);
  return res.result as DaemonStatus;
}

function startDaemon(root: string, bootstrap: string[]): ChildProcess {
  const args = [BIN, '--data', root, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--quiet', ...bootstrap.flatMap((b) => ['--bootstrap', b])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return proc;
}

const fieldOf = (root: string, slug: string, field: string) => {
  const file = path.join(root, 'companies', slug, '_index.md');
  const line = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`)) : undefined;
  return line?.slice(field.length + 1).trim();
};

async function main(): Promise<void> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-mesh-cluster-'));
  const roots = NODES.map((n) => path.join(base, n));
  const procs: ChildProcess[] = [];
  try {
    say(`three data roots under ${base}`);
    for (const s of SAMPLES) {
      const dir = path.join(roots[0]!, 'companies', s.slug);
      fs.mkdirSync(dir, { recursive: true });
      const { slug, body, tags, ...fields } = s;
      fs.writeFileSync(path.join(dir, '_index.md'), renderDocument('company', { ...fields, slug, tags }, body));
      fs.writeFileSync(path.join(dir, 'tags.lst'), renderTagsList(tags));
    }
    say(`the laptop already has a cocli CRM: ${SAMPLES.map((s) => s.slug).join(', ')}`);
    for (const [i, name] of NODES.entries()) {
      const mesh = await Mesh.init(roots[i]!, { name, cluster: 'demo' });
      if (i === 0) for (const s of SAMPLES) await mesh.read(`companies/${s.slug}`); // adopt the existing files
      say(`init ${name.padEnd(13)} PeerID ${mesh.peerId}`);
    }

    procs.push(startDaemon(roots[0]!, []));
    const first = await until(() => runningDaemon(roots[0]!), 'the laptop daemon');
    await until(async () => (await callDaemon(roots[0]!, { cmd: 'status' }).catch(() => undefined)) ?? undefined, 'the laptop daemon to answer');
    const address = first.addresses[0]!;
    say(`daemon laptop listening on ${address}`);
    for (const root of roots.slice(1)) procs.push(startDaemon(root, [address]));
    for (const [i, root] of roots.entries()) {
      await until(async () => {
        const s = await status(root).catch(() => undefined);
        return s && s.peers.topic >= 2 && s.datagrams >= 5 ? s : undefined;
      }, `${NODES[i]} to join`);
    }
    say('all three daemons see each other on the cluster topic and hold the same datagrams (sync on connect)');
    for (const root of roots.slice(1)) say(`  ${path.join(root, 'companies', 'acme-inc', '_index.md')} exists: ${fs.existsSync(path.join(root, 'companies', 'acme-inc', '_index.md'))}`);

    say('pi-scraper-1: cocli-mesh update companies/acme-inc phone=512-555-0100 --add tags=called');
    console.log(`          ${await cli(roots[1]!, 'update', 'companies/acme-inc', 'phone=512-555-0100', '--add', 'tags=called')}`);
    const written = Date.now();
    say('  the CLI handed the update to its daemon and returned once it was durable; the daemon published it');
    for (const i of [0, 2]) {
      await until(() => fieldOf(roots[i]!, 'acme-inc', 'phone'), `the phone number on ${NODES[i]}`);
      say(`  ${NODES[i]}'s _index.md has it ${Date.now() - written} ms later: phone: ${fieldOf(roots[i]!, 'acme-inc', 'phone')}`);
    }

    say('laptop and cloud-worker set the same field at the same moment (each CLI writes locally, --no-daemon;');
    say('  each daemon picks its write up within 250 ms and publishes it): concurrent writes');
    await Promise.all([
      cli(roots[0]!, 'update', 'companies/bright-dental', 'name=Bright Dental Austin', '--no-daemon'),
      cli(roots[2]!, 'update', 'companies/bright-dental', 'name=Bright Dental (Austin, TX)', '--no-daemon'),
    ]);
    const names = await until(() => {
      const all = roots.map((r) => fieldOf(r, 'bright-dental', 'name'));
      const files = roots.map((r) => fs.readFileSync(path.join(r, 'companies', 'bright-dental', '_index.md'), 'utf8'));
      return files.every((f) => f === files[0]) && all.every((n) => n !== 'Bright Dental') ? all : undefined;
    }, 'the concurrent names to converge');
    say(`  every node's _index.md says name: ${names[0]}: one deterministic winner; show lists the other value`);
    console.log((await cli(roots[1]!, 'show', 'companies/bright-dental')).split('\n').map((l) => `          ${l}`).join('\n'));

    say('status of the laptop daemon:');
    console.log((await cli(roots[0]!, 'status')).split('\n').map((l) => `          ${l}`).join('\n'));
  } finally {
    for (const root of roots) await callDaemon(root, { cmd: 'stop' }).catch(() => undefined);
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    say('all daemons stopped');
    console.log(`\nThe data roots are still there to look at: ${base}\n(cocli reads them as they are; remove the folder when done)`);
  }
}

main().catch((err: Error) => {
  console.error(`cluster demo failed: ${err.message}`);
  process.exitCode = 1;
});
