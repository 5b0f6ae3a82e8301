// A separate process for the concurrency test: opens a data root and adds N tags one update at a time.
import { Mesh } from '../../src/mesh/mesh.js';

const [root, tag, count] = process.argv.slice(2); // optional 4th: "lease"
const mesh = await Mesh.open(root!);
if (process.argv[5] === 'lease') mesh.store.setLockLease(20); // as a gossiping node does
for (let i = 0; i < Number(count); i++) await mesh.update('companies/acme-inc', [['+', 'tags', `${tag}${i}`]]);
