// `npm run bench`: runs every bench and prints JSON lines plus a table. `--quick` for a short run,
// `--only=<bench>` for one bench.
import { benchFoundation } from './foundation.js';
import { benchCompaction } from './compaction.js';
import { benchNetwork } from './network.js';
import { benchCatchUp, benchVsOrbitdb } from './catchup.js';
import { printTable } from './report.js';
import { removeScratch } from './scratch.js';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
if (!only || only === 'foundation') await benchFoundation({ quick });
if (!only || only === 'compaction') await benchCompaction({ quick });
if (!only || only === 'network') await benchNetwork({ quick });
if (!only || only === 'catch-up') await benchCatchUp({ quick });
if (!only || only === 'vs-orbitdb') await benchVsOrbitdb({ quick });
printTable();
removeScratch();
