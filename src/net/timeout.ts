// Timeouts for libp2p dials. A signal handed to `dial` or `dialProtocol` stays tied to the connection or
// stream it opened, and libp2p's default one fires later and cuts them (and any long sync on them); so a
// dial gets a signal of ours whose timer is cleared the moment the dial settles.
export async function withDialTimeout<T>(ms: number, dial: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const dialing = new AbortController();
  const timer = setTimeout(() => dialing.abort(new Error(`dial timed out after ${ms / 1000} s`)), ms);
  try {
    return await dial(dialing.signal);
  } finally {
    clearTimeout(timer);
  }
}
