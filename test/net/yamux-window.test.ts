// The lazy yamux window updates (src/net/yamux-window.ts) on real libp2p nodes over 127.0.0.1, through a
// byte-counting relay: many small frames one way are answered by a few window updates, not one each, and a
// transfer many windows long still completes (the sender is never left without window).
import '../../src/net/polyfill.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLibp2p, type Libp2p } from 'libp2p';
import { multiaddr } from '@multiformats/multiaddr';
import { transportStack } from '../../src/net/node.js';
import { lazyWindowUpdates } from '../../src/net/yamux-window.js';
import { tcpCounter, type TcpCounter } from '../../bench/tcp-counter.js';

const PROTOCOL = '/cocli-mesh-test/sink/1.0.0';
/** bytes on the wire of one yamux frame without a body: 12-byte header, noise's 2-byte length and 16-byte tag */
const EMPTY_FRAME_ON_WIRE = 30;

/** Two nodes; `receiver` counts what it reads on PROTOCOL; the sender reaches it only through a counting relay. */
async function pair(): Promise<{ sender: Libp2p; receiver: Libp2p; relay: TcpCounter; received: () => number; ended: Promise<void> }> {
  const receiver = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportStack() });
  const sender = await createLibp2p({ addresses: { listen: [] }, ...transportStack() });
  let received = 0;
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  await receiver.handle(PROTOCOL, async (stream) => {
    for await (const chunk of stream) received += chunk.byteLength;
    end();
  });
  const port = Number(receiver.getMultiaddrs()[0]!.toString().split('/')[4]);
  const relay = await tcpCounter(port);
  return { sender, receiver, relay, received: () => received, ended };
}

async function streamTo(p: Awaited<ReturnType<typeof pair>>) {
  const address = multiaddr(`/ip4/127.0.0.1/tcp/${p.relay.port}/p2p/${p.receiver.peerId.toString()}`);
  return p.sender.dialProtocol(address, PROTOCOL);
}

test('yamux window updates: the patch is in place', () => {
  assert.equal(lazyWindowUpdates, true, '@libp2p/yamux no longer has the fields src/net/yamux-window.ts relies on');
});

test('yamux window updates: 100 small frames one way are not answered by 100 updates', async () => {
  const p = await pair();
  try {
    const stream = await streamTo(p);
    // let set-up traffic (noise, identify) settle, then count only the stream's frames
    await new Promise((resolve) => setTimeout(resolve, 300));
    p.relay.reset();
    const frames = 100;
    for (let i = 0; i < frames; i++) {
      stream.send(new Uint8Array(200).fill(i));
      await stream.onDrain?.().catch(() => {}); // each write its own frame
      await new Promise((resolve) => setImmediate(resolve));
    }
    await stream.close();
    await p.ended;
    assert.equal(p.received(), frames * 200);
    const back = p.relay.bytes().down;
    // without the patch: one 30-byte update per frame read (3,000 B); with it: the ACK, FIN and not much else
    assert.ok(back < (frames * EMPTY_FRAME_ON_WIRE) / 4, `${back} bytes came back for ${frames} frames sent`);
  } finally {
    await p.relay.close();
    await Promise.all([p.sender.stop(), p.receiver.stop()]);
  }
});

test('yamux window updates: a transfer of many windows completes', async () => {
  const p = await pair();
  try {
    const stream = await streamTo(p);
    const total = 3 * 1024 * 1024; // 12 times yamux's 256 KiB initial window
    const chunk = new Uint8Array(16 * 1024).fill(7);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!stream.send(chunk)) await stream.onDrain();
    }
    await stream.close();
    await p.ended;
    assert.equal(p.received(), total);
  } finally {
    await p.relay.close();
    await Promise.all([p.sender.stop(), p.receiver.stop()]);
  }
});
