// Fewer yamux window updates. js-yamux answers every data frame it reads with a window-update frame
// (12 bytes, 30 on the wire once noise has framed and sealed it), even when the sender's window is
// nowhere near spent. For our traffic (a gossip message or a sync frame per data frame) that is one
// extra encrypted frame back for every frame forward: measured here, about 10% of the CPU two nodes
// spend per gossip message, and 540 of the 4,400 bytes a one-datagram catch-up costs with its set-up.
//
// This makes a stream's receiving side send an update only once at least half of its receive window is
// used, as go-yamux and rust-yamux do. The sender still never waits: its window is only exhausted after
// the receiver has consumed more than half, and that consumption sends the update. Flags (SYN, ACK) go out
// as before, so stream set-up is unchanged, and peers without this change interoperate: the frames are
// the same, only fewer. The change is applied to @libp2p/yamux's exported YamuxStream class when this
// module loads; if a later version no longer has the fields it relies on, it changes nothing (and the
// test of this module says so).
import { YamuxStream, StreamState } from '@libp2p/yamux/stream';

const patched = Symbol.for('cocli-mesh.yamux-lazy-window-updates');

interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
  sendWindowUpdate(): void;
}

/** true when the patch is in place */
export const lazyWindowUpdates: boolean = (() => {
  const proto = YamuxStream.prototype as unknown as WindowFields & { [patched]?: true };
  if (proto[patched]) return true;
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function') return false;
  proto.sendWindowUpdate = function (this: WindowFields): void {
    // Init and SYNReceived mean this update carries SYN or ACK: always send it
    const settled = this.state !== StreamState.Init && this.state !== StreamState.SYNReceived;
    if (settled && typeof this.recvWindowCapacity === 'number' && this.recvWindowCapacity > this.recvWindow / 2) return;
    original.call(this);
  };
  proto[patched] = true;
  return true;
})();
