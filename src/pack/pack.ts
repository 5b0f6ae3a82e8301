// Packs: CARv1 files whose blocks are datagrams (CID + canonical bytes). The unit of offline exchange
// ("sneakernet") and, later, of the S3 witness. Written atomically; read as a stream.
import fs from 'node:fs';
import path from 'node:path';
import { CarBlockIterator, CarWriter } from '@ipld/car';
import type { CID } from 'multiformats/cid';
import type { Envelope } from '../datagram/types.js';
import { fsyncPath } from '../store/atomic.js';

export class PackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackError';
  }
}

/** Writes the datagrams, in the given (causal) order, to a CAR file; returns its size in bytes. */
export async function writePack(file: string, envs: Iterable<Envelope>): Promise<number> {
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  const { writer, out } = CarWriter.create([]);
  const sink = fs.createWriteStream(tmp);
  const done = (async () => {
    for await (const chunk of out) if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
    await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
  })();
  for (const env of envs) await writer.put({ cid: env.cid, bytes: env.bytes });
  await writer.close();
  await done;
  fsyncPath(tmp);
  fs.renameSync(tmp, file);
  return fs.statSync(file).size;
}

/** Reads every block of a pack; throws PackError naming the file when it is not a CAR. */
export async function readPack(file: string): Promise<{ cid: CID; bytes: Uint8Array }[]> {
  const blocks: { cid: CID; bytes: Uint8Array }[] = [];
  try {
    const iter = await CarBlockIterator.fromIterable(fs.createReadStream(file));
    for await (const block of iter) blocks.push({ cid: block.cid, bytes: block.bytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new PackError(`${file}: no such file`);
    throw new PackError(`${file}: not a readable CAR pack (${(err as Error).message}); nothing was imported`);
  }
  return blocks;
}
