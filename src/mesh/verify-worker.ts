// Worker thread of the Verifier: the signature checks of datagrams the main thread has decoded. It
// answers, per datagram, whether its signature is its author's for the cluster.
import { parentPort } from 'node:worker_threads';
import { signaturesValid } from './verify-core.js';
import type { SignatureAnswer, SignatureRequest } from './verifier.js';

parentPort!.on('message', (msg: SignatureRequest) => {
  const answer: SignatureAnswer = { id: msg.id, ok: signaturesValid(msg.bytes, msg.authors, msg.cluster) };
  parentPort!.postMessage(answer, [answer.ok.buffer as ArrayBuffer]);
});
