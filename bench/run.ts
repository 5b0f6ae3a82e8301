// `npm run bench`: runs every bench and prints JSON lines plus a table. `--quick` for a short run.
import { benchFoundation } from './foundation.js';
import { printTable } from './report.js';

const quick = process.argv.includes('--quick');
await benchFoundation({ quick });
printTable();
