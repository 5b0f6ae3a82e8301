// Decoded record bytes, carved out of shared slabs. Node pools only buffers under 4 KiB; a larger one is
// an ArrayBuffer of its own, and allocating (and later collecting) one per record cost several
// microseconds each, a tenth of compaction's fold on records of realistic companies. A slab stays in
// memory while any record cut from it does, so slabs are small and large records still get their own.
const SLAB_SIZE = 64 * 1024;
const OWN_BUFFER_ABOVE = SLAB_SIZE / 4;
const POOLED_BELOW = Buffer.poolSize >>> 1;

let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let used = 0;

/** The bytes of base64 text, as a plain Uint8Array view. */
export function base64Bytes(text: string): Uint8Array {
  const length = Buffer.byteLength(text, 'base64');
  if (length < POOLED_BELOW || length > OWN_BUFFER_ABOVE) {
    const own = Buffer.from(text, 'base64');
    return new Uint8Array(own.buffer, own.byteOffset, own.length);
  }
  if (used + length > SLAB_SIZE) (slab = Buffer.allocUnsafeSlow(SLAB_SIZE)), (used = 0);
  const written = slab.write(text, used, length, 'base64');
  const bytes = new Uint8Array(slab.buffer, slab.byteOffset + used, written);
  used += (written + 7) & ~7;
  return bytes;
}
