// Shared helper for the black-box CLI tests: spawns the compiled CLI synchronously against a data root.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/cli/run.js -> bin/cocli-mesh.js (the installed command) */
export const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'cocli-mesh.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node main.js ...args` (no --data added) with an optional stdin. */
export function runRaw(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    input: opts.input,
    env: opts.env ?? { ...process.env },
    cwd: opts.cwd,
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `node main.js --data <root> ...args`. */
export function run(root: string, ...args: string[]): RunResult {
  return runRaw(['--data', root, ...args]);
}

/** Like run, but fails the test (with the output) when the exit code is not 0. */
export function ok(root: string, ...args: string[]): RunResult {
  const r = run(root, ...args);
  if (r.code !== 0) throw new Error(`cocli-mesh ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** A fresh temporary folder; remove it with rmTmp. */
export function mkTmp(prefix = 'cocli-mesh-cli-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function rmTmp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A temporary folder holding an initialised data root at <tmp>/root. */
export function initRoot(name = 'alpha', cluster?: string): { tmp: string; root: string; peerId: string } {
  const tmp = mkTmp();
  const root = path.join(tmp, 'root');
  const r = ok(root, 'init', '--name', name, ...(cluster ? ['--cluster', cluster] : []));
  const m = /peer id\s+(\S+)/.exec(r.stdout);
  if (!m) throw new Error(`init printed no peer id: ${r.stdout}`);
  return { tmp, root, peerId: m[1]! };
}

/** Parses `log --json` output into one object per line. */
export function logOf(root: string, entity: string): LogLine[] {
  const r = ok(root, 'log', entity, '--json');
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LogLine);
}

export interface LogLine {
  time: string;
  author: string;
  authorName: string | null;
  entity: string;
  seq: number;
  lamport: number;
  ops: unknown[][];
  cid: string;
  parents: string[];
}

export interface ShowJson {
  entity: string;
  fields: Record<string, unknown>;
  body: string;
  conflicts: { field: string; winner: unknown; losers: { value: unknown; author: string; authorName: string | null; lamport: number; id: string }[] }[];
  heads: string[];
  datagrams: number;
}

export function showOf(root: string, entity: string): ShowJson {
  return JSON.parse(ok(root, 'show', entity, '--json').stdout) as ShowJson;
}

export function frontierOf(root: string): Record<string, number> {
  return JSON.parse(ok(root, 'frontier', '--json').stdout) as Record<string, number>;
}

export function companyDir(root: string, slug: string): string {
  return path.join(root, 'companies', slug);
}

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Every file under a folder with its bytes (to show that nothing changed). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out.set(path.relative(dir, p), fs.readFileSync(p).toString('base64'));
    }
  };
  walk(dir);
  return out;
}
