// FrameStream (src/net/frame-stream.ts) on real libp2p nodes over 127.0.0.1: a sender much faster than its
// reader is held back (the unread backlog stays bounded, where libp2p's lpStream let it grow until the
// stream was aborted at 4 MiB, and so does the sender's queue, which a writer waiting for one "drain" per
// message let grow without end), every message arrives whole and in order, the wire format is lpStream's,
// and a stream that ends mid-message or announces an oversized message is refused with a clear error.
import '../../src/net/polyfill.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLibp2p, type Libp2p } from 'libp2p';
import { lpStream } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';
import { transportStack, MAX_STREAM_WINDOW_BYTES } from '../../src/net/node.js';
import { FrameStream, encodeVarint } from '../../src/net/frame-stream.js';

const PROTOCOL = '/cocli-mesh-test/frames/1.0.0';
const MiB = 1024 * 1024;

/** Two nodes on 127.0.0.1; `serve` handles PROTOCOL on the receiver; returns a stream from the sender. */
async function pair(serve: (stream: Stream) => Promise<void>): Promise<{ nodes: Libp2p[]; stream: Stream }> {
  const receiver = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, ...transportStack() });
  const sender = await createLibp2p({ addresses: { listen: [] }, ...transportStack() });
  await receiver.handle(PROTOCOL, (stream) => serve(stream).catch(() => undefined));
  const stream = await sender.dialProtocol(receiver.getMultiaddrs()[0]!, PROTOCOL);
  return { nodes: [sender, receiver], stream };
}

test('frame stream: a sender far faster than its reader is held back, and every message arrives whole', async () => {
  const messages = 48; // 12 MiB in 256 KiB messages: three times what libp2p lets lie unread
  const size = 256 * 1024;
  let maxUnread = 0;
  let received = 0;
  let failure: unknown;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const { nodes, stream } = await pair(async (incoming) => {
    const frames = new FrameStream(incoming, { maxMessageBytes: MiB });
    try {
      for (let i = 0; i < messages; i++) {
        // a slow reader: the sender has time to send far more than it reads
        await new Promise((resolve) => setTimeout(resolve, 10));
        maxUnread = Math.max(maxUnread, frames.buffered + incoming.readBufferLength);
        const message = await frames.read();
        assert.equal(message.length, size);
        assert.ok(message.every((b) => b === i % 251), `message ${i} arrived whole and in order`);
        received++;
      }
    } catch (err) {
      failure = err;
    } finally {
      done();
    }
  });
  try {
    const frames = new FrameStream(stream, { maxMessageBytes: MiB });
    let maxQueued = 0;
    for (let i = 0; i < messages; i++) {
      await frames.write(new Uint8Array(size).fill(i % 251));
      maxQueued = Math.max(maxQueued, stream.writeBufferLength);
    }
    await finished;
    // the sender's queue stays bounded too: a write waits until at most 256 KiB wait to be sent
    assert.ok(maxQueued <= 256 * 1024, `${maxQueued} bytes queued to send`);
    assert.equal(failure, undefined, `the reader failed: ${(failure as Error | undefined)?.message}`);
    assert.equal(received, messages);
    // at most the low-water mark (512 KiB) and two stream windows lie unread, and a message arriving
    assert.ok(maxUnread <= MiB / 2 + 2 * MAX_STREAM_WINDOW_BYTES + size, `${maxUnread} bytes lay unread`);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

test('frame stream: reads what lpStream writes, and lpStream reads what it writes', async () => {
  const sizes = [0, 1, 127, 128, 300, 16_384, 200_000];
  let echoed!: (v: number[]) => void;
  const result = new Promise<number[]>((resolve) => (echoed = resolve));
  const { nodes, stream } = await pair(async (incoming) => {
    // the other side runs libp2p's own lpStream, as nodes before FrameStream did
    const lp = lpStream(incoming);
    const lengths: number[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const message = (await lp.read()).subarray();
      lengths.push(message.length);
      await lp.write(message);
    }
    echoed(lengths);
  });
  try {
    const frames = new FrameStream(stream, { maxMessageBytes: MiB });
    for (const n of sizes) {
      await frames.write(new Uint8Array(n).fill(n % 256));
      const back = await frames.read();
      assert.equal(back.length, n);
      assert.ok(back.every((b) => b === n % 256));
    }
    assert.deepEqual(await result, sizes);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
});

test('frame stream: a stream that ends mid-message, or announces a message above the limit, is refused', async () => {
  for (const [bytes, expected] of [
    [[...encodeVarint(100), ...new Uint8Array(50)], /ended in the middle of a message/],
    [[...encodeVarint(MiB + 1), 1, 2, 3], /message of 1048577 bytes, above the limit of 1048576/],
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /length prefix longer than 5 bytes/],
  ] as const) {
    let outcome!: (e: unknown) => void;
    const refused = new Promise<unknown>((resolve) => (outcome = resolve));
    const { nodes, stream } = await pair(async (incoming) => {
      const frames = new FrameStream(incoming, { maxMessageBytes: MiB });
      try {
        await frames.read();
        outcome(new Error('a message was read'));
      } catch (err) {
        outcome(err);
      }
    });
    try {
      stream.send(Uint8Array.from(bytes));
      await stream.close();
      const err = (await refused) as Error;
      assert.match(err.message, expected);
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
    }
  }
});

test('frame stream: varint lengths', () => {
  assert.deepEqual([...encodeVarint(0)], [0]);
  assert.deepEqual([...encodeVarint(127)], [127]);
  assert.deepEqual([...encodeVarint(128)], [0x80, 1]);
  assert.deepEqual([...encodeVarint(300)], [0xac, 2]);
  assert.deepEqual([...encodeVarint(MiB)], [0x80, 0x80, 0x40]);
});
