// OrbitDB comparison: how fast a fresh OrbitDB peer catches up N key-value puts over 127.0.0.1, and the
// bytes on the wire between the two peers. Each peer runs in a child process of its own
// (orbitdb-child.js), so OrbitDB's and Helia's polyfills and globals never reach this process and the
// two peers do not share an event loop; this side spawns them, relays B's connection to A through the
// counting relay (tcp-counter.ts), and reads their JSON lines. A time limit covers the whole run, and
// children that pass it are killed by PID. It never throws: any failure comes back as ok: false.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tcpCounter, type TcpCounter } from './tcp-counter.js';
import { flushDisk } from './scratch.js';

export interface OrbitCatchUp {
  entries: number;
  seconds: number;
  entriesPerSecond: number;
  wireBytes: number;
  ok: boolean;
  error?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'orbitdb-child.js');
const TIME_LIMIT_MS = 10 * 60 * 1000;

function failed(error: string): OrbitCatchUp {
  return { entries: 0, seconds: 0, entriesPerSecond: 0, wireBytes: 0, ok: false, error };
}

function tail(text: string, lines = 5): string {
  return text.trim().split('\n').slice(-lines).join(' | ').slice(0, 2000);
}

interface ChildProc {
  proc: ChildProcess;
  stderr(): string;
  /** resolves with the first stdout line (parsed) that satisfies pick; rejects if the child exits first */
  line<T>(pick: (o: Record<string, unknown>) => T | undefined): Promise<T>;
  exited: Promise<number | string | null>;
}

function startChild(args: string[]): ChildProc {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let buf = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let ended = false;
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (!l.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        // not one of ours
      }
    }
    wake();
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
  });
  proc.stdin!.on('error', () => {}); // a child that already exited
  const exited = new Promise<number | string | null>((resolve) => {
    proc.on('error', (e) => {
      stderr += `\n${e.message}`;
      ended = true;
      wake();
      resolve('spawn error');
    });
    proc.on('close', (code, signal) => {
      ended = true;
      wake();
      resolve(code ?? signal);
    });
  });
  const line = async <T>(pick: (o: Record<string, unknown>) => T | undefined): Promise<T> => {
    for (let seen = 0; ; ) {
      for (; seen < lines.length; seen++) {
        const v = pick(lines[seen]!);
        if (v !== undefined) return v;
      }
      if (ended) {
        const said = lines.find((o) => typeof o.error === 'string')?.error;
        throw new Error(`child (${args[0]}) exited with ${await exited}${said ? `: ${said}` : ''}${stderr ? ` | ${tail(stderr)}` : ''}`);
      }
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return { proc, stderr: () => stderr, line, exited };
}

function kill(child: ChildProc | undefined): void {
  const pid = child?.proc.pid;
  if (pid === undefined || child!.proc.exitCode !== null || child!.proc.signalCode !== null) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Peer A (its own process) makes a keyvalue database with n puts (k0..k{n-1}, values of 100 bytes);
 * then a fresh peer B (another process, empty directory) opens it through a counting TCP relay in this
 * process. The clock runs from B's dial until B holds all n entries; wireBytes counts both directions.
 */
export async function orbitCatchUp(n: number, timeLimitMs = TIME_LIMIT_MS): Promise<OrbitCatchUp> {
  if (!Number.isInteger(n) || n < 1) return failed(`n must be a positive integer (got ${n})`);
  let a: ChildProc | undefined;
  let b: ChildProc | undefined;
  let relay: TcpCounter | undefined;
  let timedOut = false;
  let base: string | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    kill(a);
    kill(b);
  }, timeLimitMs);
  try {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-mesh-orbitdb-'));
    a = startChild(['a', String(n), path.join(base, 'a')]);
    const ready = await a.line((o) =>
      o.ready === true && typeof o.address === 'string' && typeof o.peerId === 'string' && typeof o.port === 'number'
        ? { address: o.address, peerId: o.peerId, port: o.port }
        : undefined,
    );
    relay = await tcpCounter(ready.port);
    flushDisk(); // as before our side's run: A's writes are on disk before B's clock starts
    b = startChild(['b', String(n), path.join(base, 'b'), ready.address, `/ip4/127.0.0.1/tcp/${relay.port}/p2p/${ready.peerId}`]);
    await b.line((o) => (o.done === true ? true : o.ok === false ? true : undefined));
    const wireBytes = relay.bytes().total;
    const r = await b.line((o) => (typeof o.ok === 'boolean' && typeof o.entries === 'number' ? o : undefined));
    const out: OrbitCatchUp = {
      entries: Number(r.entries),
      seconds: Number(r.seconds ?? 0),
      entriesPerSecond: Number(r.entriesPerSecond ?? 0),
      wireBytes,
      ok: r.ok === true,
    };
    if (typeof r.error === 'string') out.error = r.error;
    else if (!out.ok) out.error = `peer B failed: ${tail(b.stderr())}`;
    return out;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return failed(timedOut ? `OrbitDB children killed after the ${Math.round(timeLimitMs / 1000)} s limit (${msg})` : msg);
  } finally {
    clearTimeout(timer);
    // B exits by itself once done; A serves until its stdin closes. Both get 30 s, then are killed.
    a?.proc.stdin?.end();
    b?.proc.stdin?.end();
    const grace = setTimeout(() => {
      kill(a);
      kill(b);
    }, 30_000);
    await Promise.all([a?.exited, b?.exited]);
    clearTimeout(grace);
    await relay?.close().catch(() => {});
    if (base) fs.rmSync(base, { recursive: true, force: true });
  }
}
