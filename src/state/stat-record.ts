/**
 * The one stat record: what `lstat` says of a path, as one comparable string. Everything that
 * remembers a file by its stat (the ledger's output records, the hash memo's reads, the pipeline
 * snapshot's sources, the fingerprint cache, the deployer's chunk ledger) stores this record and
 * compares it as a string: an unchanged record means unchanged content (git's index relies on
 * the same), unless the change was racy (racy.ts).
 *
 * A record is `size mtime ctime inode mode path\0`, times as seconds.nanoseconds and the mode in
 * hex: exactly what GNU `stat --printf STAT_PRINTF` prints, so a child process can stat thousands
 * of paths (statCommand) and its answer compares with records made in-process by `statRecord`.
 * An absent path has the empty record.
 */
import { type BigIntStats, lstatSync, writeFileSync } from 'node:fs';
import { type FsStamp, isRacy } from './racy.js';

/** GNU stat's --printf format for a record. */
export const STAT_PRINTF = '%s %.9Y %.9Z %i %f %n\\0';

/** `s.nnnnnnnnn` from nanoseconds since the epoch (by digits: no BigInt arithmetic). */
function seconds(ns: bigint): string {
  const d = ns.toString();
  return d.length > 9 ? `${d.slice(0, -9)}.${d.slice(-9)}` : `0.${d.padStart(9, '0')}`;
}

/** The record of `abs` now ('' when it does not exist). */
export function statRecord(abs: string): string {
  const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  return st ? recordOf(abs, st) : '';
}

/** The record of `abs` from its lstat (for callers that need the stat itself too). */
export function recordOf(abs: string, st: BigIntStats): string {
  return `${st.size} ${seconds(st.mtimeNs)} ${seconds(st.ctimeNs)} ${st.ino} ${st.mode.toString(16)} ${abs}\0`;
}

/**
 * The filesystem's own "now" for the racy rule: writes `file` (empty) and returns the time the
 * filesystem gave it, as records give times, and its device. Undefined when it cannot be written.
 */
export function fsNow(file: string): FsStamp | undefined {
  try {
    writeFileSync(file, '');
    const st = lstatSync(file, { bigint: true });
    return { ms: Number(seconds(st.ctimeNs)) * 1000, dev: Number(st.dev) };
  } catch {
    return undefined;
  }
}

/** The path of a record (everything after the fifth space, without the NUL). */
export function recordPath(rec: string): string {
  let i = -1;
  for (let k = 0; k < 5; k++) i = rec.indexOf(' ', i + 1);
  return rec.slice(i + 1, rec.endsWith('\0') ? -1 : undefined);
}

/**
 * When a record's file last changed, in ms; undefined for the empty record. Against the wall
 * clock, the later of its mtime and ctime; against a stamp of its filesystem (same clock, same
 * ticks), its ctime alone, which every write moves and no one can set (an mtime may be anything
 * utimes was given, even a time to come).
 */
function changedMs(rec: string, byStamp: boolean): number | undefined {
  const [, m, c] = rec.split(' ', 3);
  if (m === undefined || c === undefined) return undefined;
  return byStamp ? Number(c) * 1000 : Math.max(Number(m), Number(c)) * 1000;
}

/**
 * Whether the file was changed so recently that its record cannot vouch for its content (racy.ts):
 * against the wall clock, or a stamp of the file's own filesystem taken before the record.
 */
export function isRacyRecord(rec: string, now: number | FsStamp = Date.now()): boolean {
  const at = changedMs(rec, typeof now !== 'number');
  return at !== undefined && isRacy(at, now);
}

/** Splits concatenated records (a stat answer) into path -> record (with its NUL). */
export function recordsByPath(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf('\0', start);
    if (end < 0) break;
    const rec = text.slice(start, end + 1);
    out.set(recordPath(rec), rec);
    start = end + 1;
  }
  return out;
}

/** Whether a stat answer looks like records (a stat without --printf or %.9Y prints otherwise). */
export function looksLikeRecords(text: string): boolean {
  if (!text) return true;
  return /^\d+ \d+\.\d{9} \d+\.\d{9} \d+ [0-9a-f]+ /.test(text.slice(0, 200));
}
