// Runs one compaction in its own process (so its peak RSS is its own) and prints a JSON summary.
import { Mesh } from '../src/mesh/mesh.js';

const [root, mode] = process.argv.slice(2);
const t = performance.now();
const mesh = await Mesh.open(root!);
const opened = performance.now() - t;
const summary = await mesh.compact(mode === 'auto' ? { auto: true } : {});
console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000, openSeconds: opened / 1000, compacted: summary.compacted, folded: summary.folded, candidates: summary.candidates, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
