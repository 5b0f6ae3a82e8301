// A counting TCP relay on 127.0.0.1: peers that dial the relay's port reach the target, and every byte
// in both directions is counted. Benches put it between two nodes to measure bytes on the wire
// (encryption and multiplexing included) for any protocol, ours or another system's; a test of the
// yamux window updates (test/net/yamux-window.test.ts) counts with it too.
import net from 'node:net';

export interface TcpCounter {
  port: number;
  /** bytes relayed so far, dialler to target and back */
  bytes(): { up: number; down: number; total: number };
  reset(): void;
  close(): Promise<void>;
}

export async function tcpCounter(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpCounter> {
  let up = 0;
  let down = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const target = net.connect(targetPort, targetHost);
    for (const s of [client, target]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        target.destroy();
      });
    }
    // no Nagle delay: a relay must not hold back small writes the endpoints would have sent at once
    client.setNoDelay(true);
    target.setNoDelay(true);
    client.on('data', (d: Buffer) => (up += d.length));
    target.on('data', (d: Buffer) => (down += d.length));
    client.pipe(target);
    target.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    bytes: () => ({ up, down, total: up + down }),
    reset: () => {
      up = 0;
      down = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
