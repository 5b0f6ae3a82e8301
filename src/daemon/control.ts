// The control channel between the CLI and a daemon on the same data root: a Unix socket in a folder only
// the data root's owner may enter (0700; the socket itself is 0600 too), carrying one JSON request line and
// one JSON response line per connection. The folder is what keeps others out from the first moment: a
// socket is created with the process's umask, and chmod can only follow. `<root>/.mesh/daemon.json` says
// where the socket is and which process serves it; a stale file (its process gone) means no daemon.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Layout } from '../store/paths.js';
import { readIfExists, writeFileAtomic } from '../store/atomic.js';
import { processAlive } from '../store/lock.js';

export interface DaemonInfo {
  pid: number;
  socket: string;
  peerId: string;
  addresses: string[];
  started: string;
}

export type ControlRequest =
  | { cmd: 'update'; entity: string; args: { assignments: string[]; add: string[]; remove: string[]; unset: string[]; body?: string } }
  | { cmd: 'status' }
  | { cmd: 'peers' }
  | { cmd: 'ping'; peer: string; count: number }
  | { cmd: 'stop' };

export type ControlResponse = { ok: true; result: unknown } | { ok: false; kind: 'usage' | 'invalid' | 'failure'; error: string };

/**
 * Where the control socket goes: `.mesh/control/daemon.sock`, or, for a root whose path is too long for a
 * Unix socket (about 107 bytes), a fresh private folder in the temp folder. Both folders are mode 0700.
 */
function privateSocketPath(root: string): { socket: string; tempDir?: string } {
  const layout = new Layout(root);
  if (Buffer.byteLength(layout.controlSocket) <= 100) {
    fs.mkdirSync(layout.controlDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(layout.controlDir, 0o700); // an existing folder, or a umask that kept bits away: exactly 0700
    return { socket: layout.controlSocket };
  }
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cocli-mesh-')); // created 0700
  return { socket: path.join(tempDir, 'daemon.sock'), tempDir };
}

/** The running daemon of a data root, or undefined when none runs. */
export function runningDaemon(root: string): DaemonInfo | undefined {
  const text = readIfExists(new Layout(root).daemonInfo);
  if (text === undefined) return undefined;
  try {
    const info = JSON.parse(text) as DaemonInfo;
    return typeof info.pid === 'number' && typeof info.socket === 'string' && processAlive(info.pid) ? info : undefined;
  } catch {
    return undefined;
  }
}

export type Handler = (req: ControlRequest) => Promise<unknown>;

/** Serves control requests; requests are JSON lines of at most 16 MiB (a body file can be large). */
export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    readonly socket: string,
    private readonly infoFile: string,
    private readonly tempDir?: string,
  ) {}

  static async listen(root: string, info: Omit<DaemonInfo, 'socket'>, handle: Handler, classify: (err: Error) => ControlResponse): Promise<ControlServer> {
    const { socket, tempDir } = privateSocketPath(root);
    // a socket file left by a daemon that died is in the way; a live daemon was ruled out by the caller
    fs.rmSync(socket, { force: true });
    const server = net.createServer((conn) => serve(conn, handle, classify));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    fs.chmodSync(socket, 0o600);
    const layout = new Layout(root);
    writeFileAtomic(layout.daemonInfo, JSON.stringify({ ...info, socket }, null, 2) + '\n', { fsync: false });
    return new ControlServer(server, socket, layout.daemonInfo, tempDir);
  }

  async close(): Promise<void> {
    fs.rmSync(this.infoFile, { force: true });
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socket, { force: true });
    if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}

const MAX_REQUEST = 16 * 1024 * 1024;

function serve(conn: net.Socket, handle: Handler, classify: (err: Error) => ControlResponse): void {
  let buffered = '';
  let answered = false;
  const reply = (res: ControlResponse) => {
    if (answered) return;
    answered = true;
    conn.end(JSON.stringify(res) + '\n');
  };
  conn.setEncoding('utf8');
  conn.on('error', () => undefined);
  conn.on('data', (chunk: string) => {
    if (answered) return;
    buffered += chunk;
    if (buffered.length > MAX_REQUEST) return reply({ ok: false, kind: 'usage', error: 'control request too large' });
    const nl = buffered.indexOf('\n');
    if (nl < 0) return;
    let req: ControlRequest;
    try {
      req = JSON.parse(buffered.slice(0, nl)) as ControlRequest;
    } catch {
      return reply({ ok: false, kind: 'usage', error: 'control request is not JSON' });
    }
    handle(req).then(
      (result) => reply({ ok: true, result: result ?? null }),
      (err: Error) => reply(classify(err)),
    );
  });
}

/**
 * Sends one request to the daemon of a data root. Resolves to undefined when no daemon runs there (so
 * the caller can work locally); rejects if the daemon is there but the exchange fails.
 */
export async function callDaemon(root: string, req: ControlRequest, timeoutMs = 60_000): Promise<ControlResponse | undefined> {
  const info = runningDaemon(root);
  if (!info) return undefined;
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(info.socket);
    let text = '';
    let connected = false;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`the daemon (PID ${info.pid}) did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => {
      connected = true;
      conn.write(JSON.stringify(req) + '\n');
    });
    conn.on('data', (chunk: string) => (text += chunk));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // the daemon is stopping or its socket is gone: behave as if none ran
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve(undefined);
      else reject(new Error(`talking to the daemon (PID ${info.pid}): ${err.message}`));
    });
    conn.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(text) as ControlResponse);
      } catch {
        reject(new Error(`the daemon (PID ${info.pid}) sent an unreadable answer`));
      }
    });
  });
}
