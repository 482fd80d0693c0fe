/**
 * The one stat record: what `lstat` says of a path, as one comparable string. Everything that
 * remembers a file by its stat (the ledger's output records, the hash memo's reads, the pipeline
 * snapshot's sources, the fingerprint cache) stores this record and compares it as a string: an
 * unchanged record means unchanged content (git's index relies on the same), unless the change
 * was racy (racy.ts).
 *
 * A record is `size mtime ctime inode mode path\0`, times as seconds.nanoseconds and the mode in
 * hex: exactly what GNU `stat --printf STAT_PRINTF` prints, so a child process can stat thousands
 * of paths (statCommand) and its answer compares with records made in-process by `statRecord`.
 * An absent path has the empty record.
 */
import { lstatSync } from 'node:fs';
import { isRacy } from './racy.js';

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
  if (!st) return '';
  return `${st.size} ${seconds(st.mtimeNs)} ${seconds(st.ctimeNs)} ${st.ino} ${st.mode.toString(16)} ${abs}\0`;
}

/** The path of a record (everything after the fifth space, without the NUL). */
export function recordPath(rec: string): string {
  let i = -1;
  for (let k = 0; k < 5; k++) i = rec.indexOf(' ', i + 1);
  return rec.slice(i + 1, rec.endsWith('\0') ? -1 : undefined);
}

/** The later of a record's mtime and ctime, in ms; undefined for the empty record. */
function changedMs(rec: string): number | undefined {
  const [, m, c] = rec.split(' ', 3);
  if (m === undefined || c === undefined) return undefined;
  return Math.max(Number(m), Number(c)) * 1000;
}

/** Whether the file was changed so recently that its record cannot vouch for its content (racy.ts). */
export function isRacyRecord(rec: string, now = Date.now()): boolean {
  const at = changedMs(rec);
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
