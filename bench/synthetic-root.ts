// Builds a synthetic cocli data root fast, bypassing the write path: N companies with realistic cocli
// frontmatter, D datagrams per company from several authors, already rendered, indexed and marked.
import fs from 'node:fs';
import path from 'node:path';
import { CID } from 'multiformats/cid';
import { Mesh } from '../src/mesh/mesh.js';
import { Signer } from '../src/datagram/sign.js';
import { FORMAT_VERSION } from '../src/datagram/types.js';
import { peerIdOf } from '../src/datagram/author.js';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Op, Value } from '../src/datagram/types.js';
import { applyDatagram, emptyState } from '../src/merge/state.js';
import { viewOf } from '../src/merge/view.js';
import { recordLine } from '../src/store/records.js';
import { renderDocument } from '../src/cocli/document.js';
import { renderTagsList } from '../src/cocli/tags.js';
import { sha } from '../src/store/entity-files.js';
import { realisticCompany } from './foundation.js';

export async function buildSyntheticRoot(root: string, companies: number, perCompany: number, authors = 4): Promise<{ datagrams: number }> {
  const mesh = await Mesh.init(root, { name: 'bench-0', cluster: 'bench' });
  const signers: { signer: Signer; seq: number; peer: string }[] = [{ signer: mesh.identity.signer, seq: mesh.store.index.lastSeq(mesh.peerId), peer: mesh.peerId }];
  for (let i = 1; i < authors; i++) {
    const key = await generateKeyPair('Ed25519');
    signers.push({ signer: new Signer(key.raw.subarray(0, 32), key.publicKey.raw), seq: 0, peer: peerIdOf(key.publicKey.raw) });
  }
  const indexFile = mesh.store.layout.index;
  const marks = fs.openSync(mesh.store.layout.renderMarks, 'a');
  if (fs.statSync(mesh.store.layout.renderMarks).size === 0) fs.writeSync(marks, JSON.stringify({ generation: 'synthetic' }) + '\n');
  let indexText = '';
  let datagrams = 0;
  const t0 = 1_767_225_600_000; // 2026-01-01
  for (let i = 0; i < companies; i++) {
    const entity = `companies/company-${i}`;
    const dir = path.join(root, 'companies', `company-${i}`);
    fs.mkdirSync(path.join(dir, 'updates'), { recursive: true });
    const state = emptyState(entity);
    let log = '';
    for (let k = 0; k < perCompany; k++) {
      const a = signers[(i + k) % signers.length]!;
      let ops: Op[];
      if (k === 0) {
        const { fields, body } = realisticCompany(i);
        ops = [['b', body]];
        for (const [f, v] of Object.entries(fields)) {
          if (Array.isArray(v)) for (const m of v) ops.push(['+', f, m as string]);
          else ops.push(['s', f, v as Value]);
        }
      } else {
        ops = [k % 3 === 0 ? ['+', 'tags', `t${k}`] : k % 3 === 1 ? ['s', 'reviews_count', 100 + k] : ['s', 'phone_1', `1512555${String(k).padStart(4, '0')}`]];
      }
      const lamport = 1 + state.heads.reduce((m, h) => Math.max(m, state.dag[h]!.lamport), 0);
      const env = a.signer.sign({ v: FORMAT_VERSION, c: 'bench', e: entity, o: ops, a: a.signer.publicKey, s: ++a.seq, l: lamport, p: state.heads.map((h) => CID.parse(h)), t: t0 + (i * perCompany + k) * 1000 });
      applyDatagram(state, env);
      log += recordLine(env);
      indexText += `${env.id} ${a.peer} ${a.seq} ${entity}\n`;
      datagrams++;
    }
    fs.writeFileSync(path.join(dir, 'updates', 'mesh.log'), log);
    const view = viewOf(state);
    const doc = renderDocument('company', { ...view.fields, tags: view.fields.tags ?? [] }, view.body);
    const tags = renderTagsList((view.fields.tags as string[]) ?? []);
    fs.writeFileSync(path.join(dir, '_index.md'), doc);
    fs.writeFileSync(path.join(dir, 'tags.lst'), tags);
    fs.writeSync(marks, JSON.stringify({ entity, doc: '_index.md', docHashes: [sha(doc)], tagsHashes: [sha(tags)], heads: view.heads }) + '\n');
    if (indexText.length > 1 << 20) {
      fs.appendFileSync(indexFile, indexText);
      indexText = '';
    }
  }
  fs.appendFileSync(indexFile, indexText);
  fs.closeSync(marks);
  await mesh.close();
  // A root written through the write path saves an index snapshot each time its journal is emptied (every
  // 32 MiB), so it opens from a snapshot plus a short tail of index lines; this one is made to match.
  const written = await Mesh.open(root, { render: 'deferred' });
  await written.store.transaction(() => written.store.saveIndexSnapshot());
  await written.close();
  return { datagrams };
}
