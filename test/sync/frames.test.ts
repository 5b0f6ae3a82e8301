// The sync protocol's pure parts: frame encoding and strict decoding, data framing limits, and what one
// frontier lacks against another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as dagCbor from '@ipld/dag-cbor';
import fc from 'fast-check';
import { DataFramer, FrameSizes, decodeFrame, encodeFrame, DATA_FRAME_BYTES, FIRST_DATA_FRAME_BYTES, MAX_FRAME_BYTES, SyncProtocolError, type Frame } from '../../src/sync/frames.js';
import { frontierAfter, frontierChange, lackCount, sameFrontier } from '../../src/sync/lack.js';
import type { Envelope } from '../../src/datagram/types.js';

test('every frame type round-trips', () => {
  const frames: Frame[] = [
    { t: 'pull', f: { a: 3, b: 0 } },
    { t: 'pull', f: {}, c: ['bafyreiabc'] },
    { t: 'have', f: { a: 5 }, n: 2 },
    { t: 'data', d: [new Uint8Array([1, 2]), new Uint8Array([3])] },
    { t: 'end' },
    { t: 'done', f: { a: 5 } },
  ];
  for (const f of frames) assert.deepEqual(decodeFrame(encodeFrame(f)), f);
});

test('malformed frames are refused with a message naming the problem', () => {
  const bad: [unknown, RegExp][] = [
    [[1, 2], /not a map/],
    [{ t: 'nope' }, /unknown frame type/],
    [{ t: 'pull', f: { a: -1 } }, /non-negative integer/],
    [{ t: 'pull', f: [] }, /frontier/],
    [{ t: 'pull', f: {}, c: 'x' }, /"c" must be a list/],
    [{ t: 'pull', f: {}, c: Array.from({ length: 300 }, () => 'x') }, /at most 256/],
    [{ t: 'have', f: {}, n: 1.5 }, /"n" must be a count/],
    [{ t: 'data', d: [] }, /non-empty list/],
    [{ t: 'data', d: ['text'] }, /byte strings/],
  ];
  for (const [value, message] of bad) {
    assert.throws(() => decodeFrame(dagCbor.encode(value)), (err: Error) => err instanceof SyncProtocolError && message.test(err.message), JSON.stringify(value));
  }
  assert.throws(() => decodeFrame(new Uint8Array([0xff, 0x00])), /not DAG-CBOR/);
  assert.throws(() => decodeFrame(new Uint8Array(MAX_FRAME_BYTES + 1)), /exceeds/);
});

/** Every datagram of `envs` in data frames of DATA_FRAME_BYTES at most, as one call. */
function dataFrames(envs: readonly { bytes: Uint8Array }[]): Frame[] {
  const framer = new DataFramer(new FrameSizes(DATA_FRAME_BYTES));
  return [...framer.add(envs), ...framer.flush()];
}

test('data frames stay under 256 KiB and keep every datagram in order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 40_000 }), { maxLength: 60 }), (sizes) => {
      const envs = sizes.map((n, i) => ({ bytes: new Uint8Array(n).fill(i % 256) }) as unknown as Envelope);
      const frames = [...dataFrames(envs)];
      const out = frames.flatMap((f) => (f.t === 'data' ? f.d : []));
      assert.deepEqual(out, envs.map((e) => e.bytes));
      for (const f of frames) assert.ok(encodeFrame(f).length <= DATA_FRAME_BYTES + 64);
    }),
    { seed: 7, numRuns: 100 },
  );
});

test('the data frames of a session start small and double up to 256 KiB, filled across the chunks it is sent in', () => {
  const envs = Array.from({ length: 6000 }, (_, i) => ({ bytes: new Uint8Array(300).fill(i % 256) }) as unknown as Envelope);
  const framer = new DataFramer();
  // sent in chunks, as the responder does (an empty one first, as when the puller wants no datagram by id;
  // then chunks of 1,024, which do not divide into whole frames)
  const chunks = [[], envs.slice(0, 150), ...Array.from({ length: 6 }, (_, k) => envs.slice(150 + k * 1024, 150 + (k + 1) * 1024))];
  const frames = [...chunks.flatMap((chunk) => [...framer.add(chunk)]), ...framer.flush()];
  const bytes = frames.map((f) => (f.t === 'data' ? f.d.reduce((n, d) => n + d.length + 8, 0) : 0));
  assert.deepEqual(frames.flatMap((f) => (f.t === 'data' ? f.d : [])), envs.map((e) => e.bytes));
  assert.ok(bytes[0]! <= FIRST_DATA_FRAME_BYTES && bytes[0]! > FIRST_DATA_FRAME_BYTES - 400, `first frame ${bytes[0]} bytes`);
  // frame i holds at most FIRST_DATA_FRAME_BYTES * 2^i, and every frame but the last is full (within one
  // datagram of its limit): a chunk's end does not cut a frame short
  bytes.forEach((n, i) => {
    const limit = Math.min(DATA_FRAME_BYTES, FIRST_DATA_FRAME_BYTES * 2 ** i);
    assert.ok(n <= limit, `frame ${i}: ${n} bytes`);
    if (i < bytes.length - 1) assert.ok(n > limit - 308, `frame ${i}: ${n} bytes of ${limit}`);
  });
  assert.deepEqual(dataFrames(envs.slice(0, 10)).length, 1, 'one frame for what fits');
});

test('lackCount counts exactly what the other frontier lacks', () => {
  assert.equal(lackCount({ a: 5, b: 2 }, { a: 3 }), 4);
  assert.equal(lackCount({ a: 5 }, { a: 9, b: 1 }), 0);
  assert.ok(sameFrontier({ a: 2, b: 0 }, { a: 2 }));
  assert.ok(!sameFrontier({ a: 2 }, { a: 3 }));
});

test('a frontier told as its change from another is rebuilt exactly, and names only the authors that differ', () => {
  const frontier = fc.dictionary(fc.constantFrom('A', 'B', 'C', 'D', 'E'), fc.nat({ max: 4 }));
  const held = (f: Record<string, number>) => Object.fromEntries(Object.entries(f).filter(([, s]) => s > 0));
  fc.assert(
    fc.property(frontier, frontier, (base, target) => {
      const change = frontierChange(base, target);
      assert.deepEqual(frontierAfter(base, change), held(target));
      for (const author of Object.keys(change)) assert.notEqual(base[author] ?? 0, target[author] ?? 0, `${author} is unchanged`);
      for (const author of new Set([...Object.keys(base), ...Object.keys(target)])) {
        if ((base[author] ?? 0) !== (target[author] ?? 0)) assert.ok(author in change, `${author} changed`);
      }
    }),
    { seed: 20261203, numRuns: 500 },
  );
  assert.deepEqual(frontierChange({ A: 3, B: 2 }, { A: 3, B: 5, C: 1 }), { B: 5, C: 1 });
  assert.deepEqual(frontierChange({ A: 3, B: 2 }, { A: 3 }), { B: 0 });
});

test('data frames are written and read byte for byte as the generic DAG-CBOR codec does', () => {
  // lengths around every head size: 23/24, 255/256, 65535/65536
  const sizes = fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom(23, 24, 255, 256, 65_535, 65_536));
  const datagram = sizes.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));
  fc.assert(
    fc.property(fc.array(datagram, { minLength: 1, maxLength: 30 }), (d) => {
      const bytes = encodeFrame({ t: 'data', d });
      assert.deepEqual(Buffer.from(bytes), Buffer.from(dagCbor.encode({ t: 'data', d })));
      const back = decodeFrame(bytes);
      assert.deepEqual(back, { t: 'data', d });
      // copies, not views into the frame
      bytes.fill(0);
      assert.deepEqual(back, { t: 'data', d });
    }),
    { seed: 7, numRuns: 60 },
  );
});

test('a data frame in any but the shortest form is refused, as the generic decoder refuses it', () => {
  // one datagram of 3 bytes whose length is written in two bytes (0x58 0x03) instead of one (0x43)
  const long = Uint8Array.of(0xa2, 0x61, 0x64, 0x81, 0x58, 0x03, 1, 2, 3, 0x61, 0x74, 0x64, 0x64, 0x61, 0x74, 0x61);
  assert.throws(() => decodeFrame(long), (err: Error) => err instanceof SyncProtocolError && /not DAG-CBOR/.test(err.message));
  // cut short, or with a byte after the end
  const good = encodeFrame({ t: 'data', d: [Uint8Array.of(1, 2, 3)] });
  assert.throws(() => decodeFrame(good.subarray(0, good.length - 1)), SyncProtocolError);
  assert.throws(() => decodeFrame(Uint8Array.from([...good, 0])), SyncProtocolError);
  // an empty list goes through the generic decoder, which names the problem
  assert.throws(() => decodeFrame(encodeFrame({ t: 'data', d: [] })), /non-empty list/);
});
