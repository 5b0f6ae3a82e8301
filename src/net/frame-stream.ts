// Length-prefixed messages over a libp2p stream, with flow control that actually holds a fast sender back.
//
// libp2p's lpStream buffers whatever arrives, read or not, and js-yamux grants the sender more window as
// soon as data arrives, not when it is read. So nothing slows a sender that outpaces its reader: the unread
// bytes pile up until libp2p aborts the stream at 4 MiB (a sync of large datagrams, or of many, to a busy
// puller died that way). This reader pauses the stream while more than `highWater` bytes wait unread, which
// makes yamux withhold window updates, and resumes it once a reader needs more or the backlog is below
// `lowWater`. Unread data is then bounded by `highWater`, or by `lowWater` plus two stream windows (what
// the paused stream held back, and the window that resuming grants), whichever is more: with the window
// capped at 1 MiB (transportStack), 2.5 MiB.
//
// Writing, it waits until the stream has sent all but `writeHighWater` bytes of what was queued, so a
// sender's memory is bounded too.
//
// The wire format is lpStream's: each message is preceded by its length as an unsigned varint.
import type { Stream } from '@libp2p/interface';
import { Uint8ArrayList } from 'uint8arraylist';
import { varint } from 'multiformats';

export class FrameStreamError extends Error {}

export interface FrameStreamOptions {
  /** longest message accepted; a longer length prefix is an error */
  maxMessageBytes: number;
  /** pause the stream once this many bytes wait unread (default 1 MiB) */
  highWater?: number;
  /** resume it once fewer than this wait (default half of highWater) */
  lowWater?: number;
  /** a write resolves once at most this many bytes wait to be sent (default 256 KiB) */
  writeHighWater?: number;
}

/** at most 5 varint bytes: lengths up to 2^35 - 1, far above any limit here */
const MAX_PREFIX_BYTES = 5;

export class FrameStream {
  private readonly buffer = new Uint8ArrayList();
  private paused = false;
  /** inside stream.pause() or stream.resume() */
  private switching = false;
  /** undefined while the remote may still send; null once it ended cleanly; else why the stream broke */
  private ended: Error | null | undefined;
  private wake?: () => void;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly writeHighWater: number;

  constructor(
    private readonly stream: Stream,
    private readonly opts: FrameStreamOptions,
  ) {
    this.highWater = opts.highWater ?? 1024 * 1024;
    this.lowWater = opts.lowWater ?? this.highWater / 2;
    this.writeHighWater = opts.writeHighWater ?? 256 * 1024;
    stream.addEventListener('message', (evt) => {
      this.buffer.append(evt.data);
      // not while resume() hands over what it held back: pausing inside it would be undone when it returns
      if (!this.paused && !this.switching && this.buffer.byteLength >= this.highWater) this.setPaused(true);
      this.notify();
    });
    stream.addEventListener('remoteCloseWrite', () => this.end(null));
    stream.addEventListener('close', (evt) => this.end(evt.error ?? null));
  }

  /** bytes received and not yet read (what the paused stream holds back is not counted) */
  get buffered(): number {
    return this.buffer.byteLength;
  }

  /** The next message; throws once the stream has ended or broken before a whole one arrived. */
  async read(): Promise<Uint8Array> {
    for (;;) {
      const message = this.take();
      if (message) {
        if (this.paused && this.buffer.byteLength < this.lowWater) this.setPaused(false);
        return message;
      }
      if (this.paused) {
        // a reader waits and what is buffered is not a whole message: let the rest in (what the paused
        // stream held back arrives at once, through the listener) and look again
        this.setPaused(false);
        continue;
      }
      if (this.ended !== undefined) throw this.ended ?? new FrameStreamError(this.buffer.byteLength ? 'the stream ended in the middle of a message' : 'the stream ended');
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * Sends one message; resolves once at most `writeHighWater` bytes wait in the stream's send buffer.
   * Waiting for a single "drain" is not enough: the stream emits one for every window update that lets
   * it send some of its queue, so a writer that queued a message per drain would queue faster than the
   * window lets out (and the stream's own onDrain() stays resolved after the first one). A sync session
   * queued 17 MB that way.
   */
  async write(message: Uint8Array): Promise<void> {
    this.stream.send(new Uint8ArrayList(encodeVarint(message.byteLength), message));
    while (this.stream.writeBufferLength > this.writeHighWater) await this.sendProgress();
  }

  /** The stream's next "drain" (it may send more) or "idle" (its queue is empty); rejects if it closes. */
  private sendProgress(): Promise<void> {
    const stream = this.stream;
    if (stream.writeStatus !== 'writable') return Promise.reject(new FrameStreamError(`the stream is ${stream.writeStatus} with a message waiting to be sent`));
    return new Promise<void>((resolve, reject) => {
      const progressed = () => {
        off();
        resolve();
      };
      const closed = (evt: Event) => {
        off();
        reject((evt as Event & { error?: Error }).error ?? new FrameStreamError('the stream closed with a message waiting to be sent'));
      };
      const off = () => {
        stream.removeEventListener('drain', progressed);
        stream.removeEventListener('idle', progressed);
        stream.removeEventListener('close', closed);
      };
      stream.addEventListener('drain', progressed);
      stream.addEventListener('idle', progressed);
      stream.addEventListener('close', closed);
    });
  }

  /**
   * A whole message from the buffer, if one is there. The length prefix is read here rather than by
   * multiformats' varint.decode, which cannot tell a prefix cut short (wait for more) from a bad one.
   */
  private take(): Uint8Array | undefined {
    let length = 0;
    let prefix = 0;
    for (;;) {
      if (prefix >= this.buffer.byteLength) return undefined;
      if (prefix >= MAX_PREFIX_BYTES) throw new FrameStreamError('a message length prefix longer than 5 bytes');
      const byte = this.buffer.get(prefix);
      length += (byte & 0x7f) * 2 ** (7 * prefix);
      prefix++;
      if (byte < 0x80) break;
    }
    if (length > this.opts.maxMessageBytes) throw new FrameStreamError(`a message of ${length} bytes, above the limit of ${this.opts.maxMessageBytes}`);
    if (this.buffer.byteLength < prefix + length) return undefined;
    const message = this.buffer.subarray(prefix, prefix + length);
    this.buffer.consume(prefix + length);
    return message;
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.switching = true;
    try {
      if (paused) this.stream.pause();
      else this.stream.resume(); // hands over what arrived meanwhile, through the message listener
    } catch {
      // the stream is closing: nothing left to hold back
    } finally {
      this.switching = false;
    }
    // what the stream held back may fill the buffer again at once
    if (!paused && this.buffer.byteLength >= this.highWater) this.setPaused(true);
  }

  private end(reason: Error | null): void {
    if (this.ended === undefined) this.ended = reason;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** unsigned LEB128, as lpStream writes lengths (multiformats' varint, as the history segments use) */
export function encodeVarint(n: number): Uint8Array {
  return varint.encodeTo(n, new Uint8Array(varint.encodingLength(n)));
}
