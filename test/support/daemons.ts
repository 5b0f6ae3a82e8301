// Test support: cocli-mesh daemons as separate processes on 127.0.0.1, and the CLI run as a process.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { callDaemon, runningDaemon, type ControlRequest, type DaemonInfo } from '../../src/daemon/control.js';
import type { DaemonStatus } from '../../src/daemon/daemon.js';

export const BIN = fileURLToPath(new URL('../../../bin/cocli-mesh.js', import.meta.url));
const run = promisify(execFile);

/** Waits until `check` holds, polling; fails with `what` after `ms`. Polling keeps the event loop alive. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the CLI; resolves with its output and exit code (never rejects on a non-zero exit). */
export async function cli(root: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, '--data', root, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export interface RunningDaemon {
  root: string;
  proc: ChildProcess;
  info: DaemonInfo;
  output: () => string;
  /** the address others bootstrap from */
  address: string;
}

/** Starts `cocli-mesh daemon` on 127.0.0.1 with mDNS off; resolves once its control socket answers. */
export async function startDaemon(
  root: string,
  extra: string[] = [],
  opts: { env?: Record<string, string>; prefix?: string[]; mdns?: boolean } = {},
): Promise<RunningDaemon> {
  const listen = extra.includes('--listen') ? [] : ['--listen', '/ip4/127.0.0.1/tcp/0'];
  const argv = [...(opts.prefix ?? []), process.execPath, BIN, '--data', root, 'daemon', ...(opts.mdns ? [] : ['--no-mdns']), ...listen, ...extra];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  proc.on('exit', () => (exited = true));
  await until(async () => {
    if (exited) throw new Error(`daemon on ${root} exited:\n${out}`);
    const info = runningDaemon(root);
    return !!info && (await callDaemon(root, { cmd: 'status' }).catch(() => undefined)) !== undefined;
  }, `the daemon on ${root}`);
  const info = runningDaemon(root)!;
  const address = info.addresses[0]!;
  return { root, proc, info, output: () => out, address };
}

export async function request<T>(root: string, req: ControlRequest): Promise<T> {
  const res = await callDaemon(root, req);
  if (!res) throw new Error(`no daemon on ${root}`);
  if (!res.ok) throw new Error(`daemon on ${root}: ${res.error}`);
  return res.result as T;
}

export const status = (root: string) => request<DaemonStatus>(root, { cmd: 'status' });

/** Asks a daemon to stop and waits for its process to exit. */
export async function stopDaemon(d: RunningDaemon): Promise<void> {
  if (d.proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => d.proc.once('exit', () => r()));
  await callDaemon(d.root, { cmd: 'stop' }).catch(() => d.proc.kill('SIGTERM'));
  const timer = setTimeout(() => d.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
