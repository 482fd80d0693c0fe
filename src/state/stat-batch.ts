/**
 * Stats many paths in a child process (GNU `stat` under `xargs`), so the system calls run on
 * another core while this one loads and hashes. Node's own lstat costs a system call plus a
 * Stats object per file; for the thousands of output files a fully cached run checks, that was
 * the largest single cost. The answer is stat's text: stat records (stat-record.ts), the same
 * bytes `statRecord` makes in-process, so they compare as strings. Where GNU stat is missing
 * (macOS, BusyBox) the answer is undefined and callers use statRecord.
 */
import { type BatchCommand, type BatchResult, shellBatch } from '../util/shell-batch.js';
import { looksLikeRecords, STAT_PRINTF } from './stat-record.js';

/**
 * The command that stats every path of `list` (NUL-separated, given on stdin), for `shellBatch`.
 * `-s 1 MiB` lets one stat take ~15,000 paths instead of xargs' default ~2,000 (128 KiB): a
 * 400-package repository's outputs in one process rather than five. GNU xargs lowers a larger
 * -s to the system's limit by itself.
 */
export function statCommand(list: string): BatchCommand {
  return { argv: ['xargs', '-0', '-r', '-s', '1048576', 'stat', '--printf', STAT_PRINTF], input: list };
}

/**
 * stat's text from the result of `statCommand`; undefined when it could not run (no GNU stat).
 * A path that is gone simply has no record (xargs then exits with 123).
 */
export function statText(r: BatchResult): string | undefined {
  if (r.code === 0) return looksLikeRecords(r.out) ? r.out : undefined;
  // 123 with some records: those paths exist, the others are gone. 123 with none at all is also
  // what a stat without --printf (BusyBox, BSD) gives: let the caller stat in-process.
  return r.code === 123 && r.out && looksLikeRecords(r.out) ? r.out : undefined;
}

/** Stats every path of `list` (see statCommand). */
export function statMany(list: string): Promise<string | undefined> {
  return shellBatch('.', [statCommand(list)]).then(([r]) => statText(r!));
}
