// Which boot of the machine this is. Journal records written in the current boot cannot have lost their
// entity-log or index lines to a power cut (the page cache survives a killed process), so once a process
// has checked the whole journal in this boot, later openers only replay records the index lacks.
import fs from 'node:fs';
import os from 'node:os';
import { writeFileAtomic } from './atomic.js';

/** Boot times (without a boot id) that differ by less than this are the same boot: uptime and clock are read apart. */
const BOOT_TIME_SLACK_S = 5;

/** Linux's boot id, or elsewhere the boot time (seconds, from the clock and uptime). */
export function currentBoot(): string {
  try {
    const id = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    if (id) return `id:${id}`;
  } catch {
    // not Linux: fall back to the boot time
  }
  return `time:${Math.round(Date.now() / 1000 - os.uptime())}`;
}

export function sameBoot(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.startsWith('time:') || !b.startsWith('time:')) return false;
  return Math.abs(Number(a.slice(5)) - Number(b.slice(5))) < BOOT_TIME_SLACK_S;
}

/**
 * The journal file's identity (device and inode): a root copied or restored, or a journal replaced by
 * truncation, is a different file, whose records were never checked in this boot.
 */
function journalIdentity(journal: string): string {
  const st = fs.statSync(journal, { throwIfNoEntry: false });
  return st ? `${st.dev}:${st.ino}` : '-';
}

/** Whether the marker says this journal file was checked whole in this boot (a missing or unreadable marker: no). */
export function checkedThisBoot(marker: string, journal: string): boolean {
  let saved: { boot?: unknown; journal?: unknown };
  try {
    saved = JSON.parse(fs.readFileSync(marker, 'utf8')) as { boot?: unknown; journal?: unknown };
  } catch {
    return false;
  }
  return typeof saved.boot === 'string' && sameBoot(saved.boot, currentBoot()) && saved.journal === journalIdentity(journal);
}

/** Records that this journal file was checked whole in this boot (derived data: no fsync, a lost marker costs one full check). */
export function markCheckedThisBoot(marker: string, journal: string): void {
  writeFileAtomic(marker, JSON.stringify({ boot: currentBoot(), journal: journalIdentity(journal) }) + '\n', { fsync: false });
}
