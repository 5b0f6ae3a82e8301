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

/** Whether the marker file says the whole journal was checked in this boot (a missing or unreadable marker: no). */
export function checkedThisBoot(marker: string): boolean {
  let saved: unknown;
  try {
    saved = (JSON.parse(fs.readFileSync(marker, 'utf8')) as { boot?: unknown }).boot;
  } catch {
    return false;
  }
  return typeof saved === 'string' && sameBoot(saved, currentBoot());
}

/** Records that the whole journal was checked in this boot (derived data: no fsync, a lost marker costs one full check). */
export function markCheckedThisBoot(marker: string): void {
  writeFileAtomic(marker, JSON.stringify({ boot: currentBoot() }) + '\n', { fsync: false });
}
