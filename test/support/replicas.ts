// Test support: replicas on temporary data roots, and exchanging datagrams between them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Mesh, type MeshOptions } from '../../src/mesh/mesh.js';
import type { Envelope } from '../../src/datagram/types.js';

export function tempDir(prefix = 'cocli-mesh-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function newReplica(name: string, options: MeshOptions = {}, cluster = 'test'): Promise<Mesh> {
  const root = tempDir(`cm-${name}-`);
  const m = await Mesh.init(root, { name, cluster });
  if (Object.keys(options).length === 0) return m;
  return Mesh.open(root, options);
}

/** Bytes of everything `from` holds that `to` lacks. */
export async function missingBytes(from: Mesh, to: Mesh): Promise<Envelope[]> {
  return from.store.transaction(() => from.datagramsSince(to.frontier()));
}

/** Files cocli reads, by path relative to the root (the ones that must converge). */
export function cocliFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const folder of ['companies', 'people']) {
    const base = path.join(root, folder);
    if (!fs.existsSync(base)) continue;
    for (const slug of fs.readdirSync(base).sort()) {
      for (const f of fs.readdirSync(path.join(base, slug)).sort()) {
        const p = path.join(base, slug, f);
        if (fs.statSync(p).isFile()) out[`${folder}/${slug}/${f}`] = fs.readFileSync(p, 'utf8');
      }
    }
  }
  return out;
}

export function removeRoots(...meshes: Mesh[]): void {
  for (const m of meshes) fs.rmSync(m.root, { recursive: true, force: true });
}
