// A bench node in a child process (net-child.ts, or bare-child.ts), driven over IPC: one request, one reply, in order.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./net-child.js', import.meta.url));

interface Reply {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

export class Child {
  private waiting: ((r: Reply) => void)[] = [];
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: Reply) => this.waiting.shift()?.(m));
  }
  /** script: the child's module (default: a cocli-mesh node, net-child.js) */
  static async spawn(root: string, script = CHILD): Promise<Child> {
    const c = new Child(fork(script, [root], { execArgv: process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_CPU_PROF] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    await new Promise<Reply>((r) => c.waiting.push(r));
    return c;
  }
  async ask(cmd: object): Promise<Reply> {
    const reply = new Promise<Reply>((r) => this.waiting.push(r));
    this.proc.send(cmd);
    const r = await reply;
    if (!r.ok) throw new Error(`bench node: ${r.error}`);
    return r;
  }
}

/** Stops bench nodes: asks each to stop, and kills one that cannot answer. */
export async function stopAll(children: readonly Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.ask({ cmd: 'stop' }).catch(() => c.proc.kill())));
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The median of sorted numbers (the mean of the two middle ones for an even count). */
export function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
