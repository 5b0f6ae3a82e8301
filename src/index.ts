// cocli-mesh's library API: open a data root, update, read, list, subscribe, export and import packs.
export { Mesh, type MeshOptions, type ImportReport, type UpdateRequest, type Listener } from './mesh/mesh.js';
export type { VerifyReport } from './mesh/verify.js';
export * from './datagram/index.js';
export * from './clock/index.js';
export * from './merge/index.js';
export { resolveDataRoot } from './cocli/dataRoot.js';
