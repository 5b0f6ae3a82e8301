// Re-verifies what is on disk from the bytes alone: every datagram's CID, signature, cluster, entity
// binding, readable fields, and the hash chain (parents present, Lamport numbers, no forks), across
// the history, the checkpoint (re-folding the history must give exactly the checkpoint) and the live
// log that continues from it.
import type { CID } from 'multiformats/cid';
import { readLines } from '../store/lines.js';
import { parseRecord, recordMismatches } from '../store/records.js';
import { verifyDatagram } from '../datagram/sign.js';
import type { Envelope } from '../datagram/types.js';
import { applyDatagram, emptyState, type EntityState } from '../merge/state.js';
import { isCheckpointLine, parseCheckpointLine, stateOf, type Checkpoint } from '../store/checkpoint.js';
import type { Store } from '../store/store.js';

export interface VerifyReport {
  entities: number;
  datagrams: number;
  failures: string[];
  notes: string[];
}

/** Checks one datagram against the state built from everything before it, and folds it in. */
class ChainChecker {
  /** CIDs of datagrams that failed: their descendants cannot be checked, a consequence rather than a new failure */
  private readonly damaged = new Set<string>();

  constructor(
    readonly entity: string,
    readonly cluster: string,
    readonly state: EntityState,
    private readonly report: VerifyReport,
  ) {}

  markDamaged(id: string): void {
    this.damaged.add(id);
  }

  check(env: Envelope, at: string): void {
    this.report.datagrams++;
    try {
      verifyDatagram(env, this.cluster);
    } catch (err) {
      this.report.failures.push(`${at}: ${(err as Error).message}`);
      this.damaged.add(env.id);
      return;
    }
    if (env.datagram.e !== this.entity) {
      this.report.failures.push(`${at}: datagram ${env.id} belongs to ${env.datagram.e} but is in the log of ${this.entity}`);
      return;
    }
    const missing = env.datagram.p.filter((p: CID) => !this.state.dag[p.toString()]);
    if (missing.length) {
      this.damaged.add(env.id);
      if (missing.every((p) => this.damaged.has(p.toString()))) {
        this.report.notes.push(`${at}: datagram ${env.id} descends from a damaged record and could not be checked further`);
      } else {
        this.report.failures.push(`${at}: datagram ${env.id} names parent ${missing.map(String).join(', ')}, which is not earlier in this entity's history or log`);
      }
      return;
    }
    try {
      applyDatagram(this.state, env);
    } catch (err) {
      this.report.failures.push(`${at}: ${(err as Error).message}`);
      this.damaged.add(env.id);
    }
  }
}

/** The checkpoint, re-derived: its history re-folded must give exactly its state. Returns the state to continue from. */
function checkCheckpoint(store: Store, entity: string, cluster: string, cp: Checkpoint, report: VerifyReport): EntityState {
  const at = `${store.layout.entityLog(entity)}:1 (checkpoint)`;
  let history: Envelope[] = [];
  try {
    history = store.historyOf(entity, cp, { strict: true });
  } catch (err) {
    report.failures.push(`${at}: ${(err as Error).message}`);
  }
  if (cp.history.dropped) {
    report.notes.push(`${at}: history before this checkpoint was dropped (--drop-history); the checkpoint is taken as given`);
    for (const env of history) {
      report.datagrams++;
      try {
        verifyDatagram(env, cluster);
        if (!cp.state.dag[env.id]) report.failures.push(`${at}: history datagram ${env.id} is not covered by the checkpoint`);
      } catch (err) {
        report.failures.push(`${at}: history: ${(err as Error).message}`);
      }
    }
    return stateOf(cp);
  }
  const refolded = new ChainChecker(entity, cluster, emptyState(entity), report);
  history.forEach((env, i) => refolded.check(env, `${at} history #${i + 1}`));
  if (JSON.stringify(refolded.state) !== JSON.stringify(cp.state)) {
    report.failures.push(`${at}: the checkpoint does not match the state its history folds to`);
  }
  if (cp.folded !== history.length) report.failures.push(`${at}: says it folded ${cp.folded} datagrams, its history holds ${history.length}`);
  return stateOf(cp);
}

export function verifyEntities(store: Store, cluster: string, entities: string[]): VerifyReport {
  const report: VerifyReport = { entities: 0, datagrams: 0, failures: [], notes: [] };
  for (const entity of entities) {
    report.entities++;
    const file = store.layout.entityLog(entity);
    const { lines, torn } = readLines(file);
    if (torn) report.notes.push(`${file}: torn final record of ${torn} bytes (a crash mid-append); it is ignored and cut off on the next write`);
    let cp: Checkpoint | undefined;
    if (lines[0] !== undefined && isCheckpointLine(lines[0])) {
      try {
        cp = parseCheckpointLine(lines[0], entity);
      } catch (err) {
        report.failures.push(`${file}:1: ${(err as Error).message}`);
        continue;
      }
    }
    const start = cp ? checkCheckpoint(store, entity, cluster, cp, report) : emptyState(entity);
    const chain = new ChainChecker(entity, cluster, start, report);
    lines.forEach((line, i) => {
      if (i === 0 && cp) return;
      const at = `${file}:${i + 1}`;
      let parsed;
      try {
        parsed = parseRecord(line);
      } catch (err) {
        report.datagrams++;
        report.failures.push(`${at}: ${(err as Error).message}`);
        try {
          chain.markDamaged(String((JSON.parse(line) as { cid?: unknown }).cid));
        } catch {
          // not even JSON: nothing names it
        }
        return;
      }
      const { env, record } = parsed;
      for (const m of recordMismatches(record, env)) report.failures.push(`${at}: ${env.id}: ${m}`);
      if (cp?.state.dag[env.id]) {
        report.notes.push(`${at}: datagram ${env.id} is already folded into the checkpoint (a compaction stopped before rewriting the log)`);
        return;
      }
      chain.check(env, at);
    });
  }
  return report;
}
