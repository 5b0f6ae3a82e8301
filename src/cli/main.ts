// The cocli-mesh command line: a thin layer over the library (src/mesh). Exit codes: 0 ok,
// 1 usage error, 2 invalid data, 3 not initialised or bad config, 4 any other failure, 5 no daemon running
// (for commands that need one).
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { resolveDataRoot } from '../cocli/dataRoot.js';
import { Mesh } from '../mesh/mesh.js';
import { ConfigError } from '../identity/identity.js';
import { InvalidDatagramError } from '../datagram/errors.js';
import { parseEntity } from '../datagram/entity.js';
import { peerIdOf } from '../datagram/author.js';
import { parseFrontier } from '../clock/frontier.js';
import { CocliFormatError } from '../cocli/document.js';
import { PackError } from '../pack/pack.js';
import { StoreError } from '../store/store.js';
import { buildOps, UsageError } from './ops.js';
import { formatLogJson, formatLogLine, formatView, logJson, type LogJson } from './format.js';
import { callDaemon, type ControlRequest, type ControlResponse } from '../daemon/control.js';
import type { DaemonStatus } from '../daemon/daemon.js';
import type { PeerReport } from '../net/node.js';
import { peerIdFromString } from '@libp2p/peer-id';

export const EXIT = { ok: 0, usage: 1, invalid: 2, config: 3, failure: 4, noDaemon: 5 } as const;

/** A request the daemon refused or failed; `kind` says which exit code it maps to. */
class DaemonError extends Error {
  constructor(message: string, readonly kind: 'usage' | 'invalid' | 'failure' | 'absent') {
    super(message);
    this.name = 'DaemonError';
  }
}

/** The result of a daemon's answer, or the error it reported. */
function answer(res: ControlResponse): unknown {
  if (res.ok) return res.result;
  throw new DaemonError(res.error, res.kind);
}

async function ask(root: string, req: ControlRequest, timeoutMs?: number): Promise<unknown> {
  const res = await callDaemon(root, req, timeoutMs);
  if (!res) throw new DaemonError(`no daemon is running on ${root}: start one with "cocli-mesh daemon"`, 'absent');
  return answer(res);
}

/** "12 s ago" for a time given as ms since the epoch or an ISO string. */
const since = (at: number | string | null | undefined) => (at ? `${Math.round((Date.now() - new Date(at).getTime()) / 1000)} s ago` : 'never');

const collect = (v: string, prev: string[]) => [...prev, v];

function rootOf(program: Command): string {
  const data = program.opts<{ data?: string }>().data;
  return data ? path.resolve(data) : resolveDataRoot();
}

function checkEntity(entity: string): void {
  const parsed = parseEntity(entity);
  if ('error' in parsed) throw new UsageError(parsed.error);
}

function printWarnings(mesh: Mesh): void {
  for (const w of mesh.warnings) process.stderr.write(`warning: ${w}\n`);
}

export function buildProgram(): Command {
  const program = new Command('cocli-mesh')
    .description('Replicate a cocli data root with signed field-level update datagrams')
    .option('--data <dir>', 'data root (default: as cocli resolves it: COCLI_DATA_HOME, COCLI_ENV, platform default)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('init')
    .description('create this node\'s Ed25519 identity and config under <root>/.mesh/')
    .option('--name <name>', 'human-readable node name (default: the host name)')
    .option('--cluster <id>', 'cluster id signed into every datagram', 'cocli')
    .action(async (opts: { name?: string; cluster: string }) => {
      const mesh = await Mesh.init(rootOf(program), { name: opts.name, cluster: opts.cluster });
      console.log(`initialised ${mesh.root}\n  node    ${mesh.config.name}\n  peer id ${mesh.peerId}\n  cluster ${mesh.config.cluster}`);
    });

  program
    .command('update <entity> [assignments...]')
    .description('write one signed datagram: field=value (typed as cocli types it), field:=<json>, map.key=value')
    .option('--add <field=member>', 'add a member to a list field (repeatable)', collect, [])
    .option('--remove <field=member>', 'remove a member from a list field (repeatable)', collect, [])
    .option('--unset <field>', 'remove a field or map.key (repeatable)', collect, [])
    .option('--body-file <file>', 'set the Markdown body from a file (- for standard input)')
    .option('--json', 'print the datagram as JSON')
    .option('--no-daemon', 'write locally even when a daemon runs on the data root')
    .action(async (entity: string, assignments: string[], opts: { add: string[]; remove: string[]; unset: string[]; bodyFile?: string; json?: boolean; daemon: boolean }) => {
      checkEntity(entity);
      let body: string | undefined;
      if (opts.bodyFile !== undefined) {
        try {
          body = fs.readFileSync(opts.bodyFile === '-' ? 0 : opts.bodyFile, 'utf8');
        } catch (err) {
          throw new UsageError(`--body-file ${opts.bodyFile}: ${(err as Error).message}`);
        }
      }
      const args = { assignments, add: opts.add, remove: opts.remove, unset: opts.unset, body };
      const root = rootOf(program);
      // a daemon on this data root takes the write (and publishes it at once); without one, write locally
      const handed = opts.daemon === false ? undefined : await callDaemon(root, { cmd: 'update', entity, args });
      if (handed) {
        const { datagram, warnings } = answer(handed) as { datagram: LogJson | null; warnings: string[] };
        for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
        if (datagram) console.log(opts.json ? JSON.stringify(datagram) : formatLogJson(datagram));
        return;
      }
      const mesh = await Mesh.open(root);
      let env;
      try {
        env = await mesh.updateWith(entity, (view) => buildOps(entity, args, view));
      } catch (err) {
        // what the user typed does not make a valid datagram: a usage error, and nothing was written
        if (err instanceof InvalidDatagramError) throw new UsageError(err.message);
        throw err;
      }
      printWarnings(mesh);
      if (env) console.log(opts.json ? JSON.stringify(logJson(mesh, env)) : formatLogLine(mesh, env));
    });

  program
    .command('show <entity>')
    .description('the merged fields, body and conflicts of an entity')
    .option('--json', 'machine-readable output')
    .action(async (entity: string, opts: { json?: boolean }) => {
      checkEntity(entity);
      const mesh = await Mesh.open(rootOf(program));
      const view = await mesh.read(entity);
      printWarnings(mesh);
      if (opts.json) {
        const names = mesh.nodeNames();
        const conflicts = view.conflicts.map((c) => ({
          ...c,
          losers: c.losers.map((l) => ({ ...l, author: peerIdOf(Buffer.from(l.author, 'hex')), authorName: names[peerIdOf(Buffer.from(l.author, 'hex'))] ?? null })),
        }));
        console.log(JSON.stringify({ entity, fields: view.fields, body: view.body, conflicts, heads: view.heads, datagrams: view.count }, null, 2));
      } else console.log(formatView(mesh, view));
    });

  program
    .command('log <entity>')
    .description('the audit trail: one line per datagram (time, author, sequence, Lamport, ops, CID, parents)')
    .option('--json', 'one JSON object per line')
    .action(async (entity: string, opts: { json?: boolean }) => {
      checkEntity(entity);
      const mesh = await Mesh.open(rootOf(program));
      for (const env of mesh.store.allDatagrams(entity)) console.log(opts.json ? JSON.stringify(logJson(mesh, env)) : formatLogLine(mesh, env));
    });

  program
    .command('list')
    .description('every entity under the data root')
    .option('--json', 'a JSON list')
    .action(async (opts: { json?: boolean }) => {
      const mesh = await Mesh.open(rootOf(program));
      const list = mesh.list();
      console.log(opts.json ? JSON.stringify(list) : list.join('\n'));
    });

  program
    .command('verify [entities...]')
    .description('re-verify CIDs, signatures and hash chains; exit 0 only if all hold')
    .option('--json', 'machine-readable report')
    .action(async (entities: string[], opts: { json?: boolean }) => {
      entities.forEach(checkEntity);
      const mesh = await Mesh.open(rootOf(program));
      const report = mesh.verify(entities.length ? entities : undefined);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else {
        for (const n of report.notes) console.log(`note: ${n}`);
        for (const f of report.failures) console.log(`FAIL: ${f}`);
        console.log(`${report.failures.length ? 'FAILED' : 'ok'}: ${report.datagrams} datagrams in ${report.entities} entities, ${report.failures.length} failures`);
      }
      if (report.failures.length) process.exitCode = EXIT.invalid;
    });

  program
    .command('frontier')
    .description('for every author, the highest sequence number held with no gap below it')
    .option('--json', 'a JSON object {"<PeerID>": <seq>} (the input of pack export --since)')
    .action(async (opts: { json?: boolean }) => {
      const mesh = await Mesh.open(rootOf(program));
      const frontier = mesh.frontier();
      if (opts.json) console.log(JSON.stringify(frontier));
      else for (const [peer, seq] of Object.entries(frontier)) console.log(`${peer}  ${String(seq).padStart(8)}  ${mesh.authorName(peer)}`);
    });

  const pack = program.command('pack').description('offline exchange of datagrams as CAR files');
  pack
    .command('export <file>')
    .description('write the datagrams a node lacks (all, or those beyond --since) to a CAR file')
    .option('--since <frontier.json>', 'the other node\'s frontier (cocli-mesh frontier --json)')
    .action(async (file: string, opts: { since?: string }) => {
      let since = {};
      if (opts.since) {
        let text: string;
        try {
          text = fs.readFileSync(opts.since, 'utf8');
        } catch (err) {
          throw new UsageError(`--since ${opts.since}: ${(err as Error).message}`);
        }
        try {
          since = parseFrontier(JSON.parse(text), opts.since);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      }
      const mesh = await Mesh.open(rootOf(program));
      const r = await mesh.exportPack(file, since);
      console.log(`exported ${r.datagrams} datagrams (${r.bytes} bytes) to ${file}`);
    });
  pack
    .command('import <file>')
    .description('verify and apply every datagram of a CAR file, in causal order (idempotent)')
    .option('--json', 'machine-readable report')
    .action(async (file: string, opts: { json?: boolean }) => {
      const mesh = await Mesh.open(rootOf(program));
      const r = await mesh.importPack(file);
      printWarnings(mesh);
      if (opts.json) console.log(JSON.stringify(r));
      else {
        for (const i of r.invalid) console.log(`invalid: ${i.id ?? '(unnamed block)'}: ${i.reason}`);
        console.log(`received ${r.received}, applied ${r.applied}, duplicates ${r.duplicates}, pending ${r.pending}, invalid ${r.invalid.length}`);
      }
      if (r.invalid.length) process.exitCode = EXIT.invalid;
    });

  program
    .command('compact [entities...]')
    .description('fold update logs into checkpoints and history files (the merge result never changes)')
    .option('--all', 'every entity changed since the last complete compaction')
    .option('--auto', 'only entities the config\'s compaction policy says are due')
    .option('--drop-history', 'discard the folded datagrams instead of keeping them in history files')
    .option('--json', 'a JSON summary')
    .action(async (entities: string[], opts: { all?: boolean; auto?: boolean; dropHistory?: boolean; json?: boolean }) => {
      const modes = [entities.length > 0, !!opts.all, !!opts.auto].filter(Boolean).length;
      if (modes !== 1) throw new UsageError('compact takes entities, --all or --auto (exactly one of them)');
      entities.forEach(checkEntity);
      const mesh = await Mesh.open(rootOf(program));
      const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ clearOnComplete: true, stream: process.stderr }, Presets.shades_classic) : undefined;
      let started = false;
      const summary = await mesh.compact({
        entities: entities.length ? entities : undefined,
        auto: opts.auto,
        dropHistory: opts.dropHistory,
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) bar.start(total, 0), (started = true);
          bar.update(done);
        },
      });
      if (started) bar?.stop();
      printWarnings(mesh);
      if (opts.json) console.log(JSON.stringify({ ...summary, entities: summary.entities }));
      else console.log(`compacted ${summary.compacted} of ${summary.candidates} candidate entities, folding ${summary.folded} datagrams, in ${summary.seconds.toFixed(2)} s`);
    });

  const daemonCmd = program
    .command('daemon')
    .description('run this node on the network: discovery (mDNS, private DHT, bootstrap list) and gossip of datagrams')
    .option('--listen <multiaddr>', 'listen address (repeatable; default from config, else /ip4/0.0.0.0/tcp/4717)', collect, [])
    .option('--port <port>', 'shorthand for --listen /ip4/0.0.0.0/tcp/<port>')
    .option('--bootstrap <multiaddr>', 'a /ip4/.../tcp/.../p2p/<PeerID> peer to dial (repeatable; replaces the config list)', collect, [])
    .option('--no-mdns', 'no multicast DNS discovery')
    .option('--no-dht', 'no DHT')
    .option('--quiet', 'print nothing but errors')
    .action(async (opts: { listen: string[]; port?: string; bootstrap: string[]; mdns: boolean; dht: boolean; quiet?: boolean }) => {
      const listen = [...opts.listen];
      if (opts.port !== undefined) {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${opts.port}: not a TCP port`);
        listen.push(`/ip4/0.0.0.0/tcp/${port}`);
      }
      const given = (name: string) => daemonCmd.getOptionValueSource(name) === 'cli';
      const log = opts.quiet ? undefined : (line: string) => console.log(`${new Date().toISOString()}  ${line}`);
      const { Daemon } = await import('../daemon/daemon.js'); // libp2p loads only for the commands that need it
      const daemon = await Daemon.start(rootOf(program), {
        listen: listen.length ? listen : undefined,
        bootstrap: opts.bootstrap.length ? opts.bootstrap : undefined,
        mdns: given('mdns') ? opts.mdns : undefined,
        dht: given('dht') ? opts.dht : undefined,
        log,
      });
      const stop = () => void daemon.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await daemon.done;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });

  program
    .command('status')
    .description('identity, listen addresses, peers, datagrams published and received, last error')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const root = rootOf(program);
      const res = await callDaemon(root, { cmd: 'status' });
      if (res) {
        const s = answer(res) as DaemonStatus;
        if (opts.json) return console.log(JSON.stringify({ running: true, ...s }, null, 2));
        console.log(
          [
            `node       ${s.name}  ${s.peerId}`,
            `cluster    ${s.cluster}`,
            `data root  ${s.root}`,
            `daemon     running, PID ${s.pid}, up ${s.uptimeSeconds} s`,
            ...s.listen.map((a, i) => `${i ? '          ' : 'listening'}  ${a}`),
            `discovery  mDNS ${s.discovery.mdns ? 'on' : 'off'}, DHT ${s.discovery.dht ? 'on' : 'off'}, ${s.discovery.bootstrap.length} bootstrap peers`,
            `peers      ${s.peers.connected} connected, ${s.peers.topic} on the cluster topic, ${s.peers.known} known`,
            `datagrams  ${s.datagrams} held; published ${s.published} in ${s.messagesPublished} messages; received ${s.received} in ${s.messagesReceived} messages, ${s.applied} new; rejected ${s.rejected} messages`,
            `last error ${s.lastError ? `${s.lastError} (${since(s.lastErrorAt)})` : 'none'}`,
            ...s.sync.map((p) => {
              const state = p.equal === null ? 'frontier not known yet' : p.equal ? 'in sync' : `we lack ${p.weLack}, it lacks ${p.theyLack}`;
              const last = p.lastSyncAt ? `last sync ${since(p.lastSyncAt)}, ${p.lastPull!.applied} of ${p.lastPull!.lacked} applied` : 'no sync yet';
              return `sync       ${p.name ?? '?'} ${p.peerId}: ${state} (its frontier ${p.frontierAgeSeconds ?? '?'} s old); ${last}${p.lastError ? `; error: ${p.lastError}` : ''}`;
            }),
          ].join('\n'),
        );
        return;
      }
      const mesh = await Mesh.open(root);
      const offline = { running: false, peerId: mesh.peerId, name: mesh.config.name, cluster: mesh.config.cluster, root: mesh.root, datagrams: mesh.store.index.size, frontier: mesh.frontier() };
      if (opts.json) return console.log(JSON.stringify(offline, null, 2));
      console.log(`node       ${offline.name}  ${offline.peerId}\ncluster    ${offline.cluster}\ndata root  ${offline.root}\ndaemon     not running\ndatagrams  ${offline.datagrams} held`);
    });

  program
    .command('peers')
    .description('peers the daemon knows: PeerID, node name, addresses, connected or not, how found, last seen')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const peers = (await ask(rootOf(program), { cmd: 'peers' })) as PeerReport[];
      if (opts.json) return console.log(JSON.stringify(peers, null, 2));
      if (!peers.length) return console.log('no peers known yet');
      for (const p of peers) {
        const seen = since(p.lastSeen);
        console.log(`${p.connected ? 'connected   ' : 'disconnected'}  ${p.name ?? '?'}  ${p.peerId}  found by ${p.foundBy.join(', ') || '?'}  last seen ${seen}`);
        for (const a of p.addresses) console.log(`    ${a}`);
      }
    });

  program
    .command('ping <peerId>')
    .description('find a peer by its PeerID alone (peer store, mDNS or the DHT) and print round-trip times')
    .option('-c, --count <n>', 'number of pings', '3')
    .option('--json', 'machine-readable output')
    .action(async (peer: string, opts: { count: string; json?: boolean }) => {
      try {
        peerIdFromString(peer);
      } catch {
        throw new UsageError(`"${peer}" is not a PeerID`);
      }
      const count = Number(opts.count);
      if (!Number.isInteger(count) || count < 1 || count > 100) throw new UsageError('--count must be 1 to 100');
      const r = (await ask(rootOf(program), { cmd: 'ping', peer, count }, 60_000)) as { rtts: number[]; via: string };
      if (opts.json) return console.log(JSON.stringify({ peer, ...r }));
      console.log(`${peer} found via ${r.via}`);
      r.rtts.forEach((ms, i) => console.log(`  ping ${i + 1}: ${ms} ms`));
    });

  program
    .command('reindex')
    .description('rebuild the local index from the entity logs')
    .action(async () => {
      const mesh = await Mesh.open(rootOf(program));
      const n = await mesh.store.transaction(() => mesh.store.rebuildIndex());
      console.log(`indexed ${n} datagrams`);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const message = (err as Error).message;
    process.stderr.write(`cocli-mesh: ${message}\n`);
    if (err instanceof UsageError) return EXIT.usage;
    if (err instanceof InvalidDatagramError || err instanceof CocliFormatError || err instanceof PackError) return EXIT.invalid;
    if (err instanceof ConfigError) return EXIT.config;
    if (err instanceof DaemonError) return err.kind === 'absent' ? EXIT.noDaemon : err.kind === 'usage' ? EXIT.usage : err.kind === 'invalid' ? EXIT.invalid : EXIT.failure;
    if (err instanceof StoreError) return message.includes('cocli-mesh init') ? EXIT.config : EXIT.invalid;
    return EXIT.failure;
  }
}
