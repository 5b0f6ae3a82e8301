// The cocli-mesh command line: a thin layer over the library (src/mesh). Exit codes: 0 ok,
// 1 usage error, 2 invalid data, 3 not initialised or bad config, 4 any other failure.
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
import { formatLogLine, formatView, logJson } from './format.js';

export const EXIT = { ok: 0, usage: 1, invalid: 2, config: 3, failure: 4 } as const;

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
    .action(async (entity: string, assignments: string[], opts: { add: string[]; remove: string[]; unset: string[]; bodyFile?: string; json?: boolean }) => {
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
      const mesh = await Mesh.open(rootOf(program));
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
    if (err instanceof StoreError) return message.includes('cocli-mesh init') ? EXIT.config : EXIT.invalid;
    return EXIT.failure;
  }
}
