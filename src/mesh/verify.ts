// Re-verifies what is on disk from the bytes alone: every record's CID, signature, cluster, entity
// binding, readable fields, and the hash chain (parents present, Lamport numbers, no forks).
import { CID } from 'multiformats/cid';
import { readLines } from '../store/lines.js';
import { parseRecord, recordMismatches } from '../store/records.js';
import { verifyDatagram } from '../datagram/sign.js';
import { applyDatagram, emptyState } from '../merge/state.js';
import type { Store } from '../store/store.js';

export interface VerifyReport {
  entities: number;
  datagrams: number;
  failures: string[];
  notes: string[];
}

export function verifyEntities(store: Store, cluster: string, entities: string[]): VerifyReport {
  const report: VerifyReport = { entities: 0, datagrams: 0, failures: [], notes: [] };
  for (const entity of entities) {
    report.entities++;
    const file = store.layout.entityLog(entity);
    const { lines, torn } = readLines(file);
    if (torn) report.notes.push(`${file}: torn final record of ${torn} bytes (a crash mid-append); it is ignored and cut off on the next write`);
    const state = emptyState(entity);
    // CIDs of records that failed: their descendants cannot be checked, which is a consequence, not a new failure
    const damaged = new Set<string>();
    lines.forEach((line, i) => {
      const at = `${file}:${i + 1}`;
      report.datagrams++;
      let parsed;
      try {
        parsed = parseRecord(line);
      } catch (err) {
        report.failures.push(`${at}: ${(err as Error).message}`);
        try {
          damaged.add(String((JSON.parse(line) as { cid?: unknown }).cid));
        } catch {
          // not even JSON: nothing names it
        }
        return;
      }
      const { env, record } = parsed;
      for (const m of recordMismatches(record, env)) report.failures.push(`${at}: ${env.id}: ${m}`);
      try {
        verifyDatagram(env, cluster);
      } catch (err) {
        report.failures.push(`${at}: ${(err as Error).message}`);
        damaged.add(env.id);
        return;
      }
      if (env.datagram.e !== entity) {
        report.failures.push(`${at}: datagram ${env.id} belongs to ${env.datagram.e} but is in the log of ${entity}`);
        return;
      }
      const missing = env.datagram.p.filter((p: CID) => !state.dag[p.toString()]);
      if (missing.length) {
        damaged.add(env.id);
        if (missing.every((p) => damaged.has(p.toString()))) {
          report.notes.push(`${at}: datagram ${env.id} descends from a damaged record and could not be checked further`);
        } else {
          report.failures.push(`${at}: datagram ${env.id} names parent ${missing.map(String).join(', ')}, which is not earlier in this log`);
        }
        return;
      }
      try {
        applyDatagram(state, env);
      } catch (err) {
        report.failures.push(`${at}: ${(err as Error).message}`);
        damaged.add(env.id);
      }
    });
  }
  return report;
}
