/**
 * What a task's outputs looked like (by stat) right after we saved or restored them, with the
 * log and duration of the run that made them. A hit whose outputs are still on disk untouched
 * then costs a few stat calls: no walk, no entry read, no copy.
 */
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OutputScan } from './restore.js';
import { taskFileName } from './safe-path.js';

/** [path, mode, size, mtimeMs, ino]; folders keep only their mode (their mtime is watched). */
type FileStat = [string, number, number, number, number];

export interface OutputRecord {
  hash: string;
  files: FileStat[];
  /** [folder, mtimeMs or -1 when absent]: a file added or removed anywhere changes one of them. */
  watch: [string, number][];
  /** Absent when too large to keep here (the entry has it). */
  log?: string;
  durationMs: number;
  /** When the cache entry's last-use time was last refreshed (epoch ms). */
  usedAt?: number;
}

// Logs bigger than this stay only in the entry: the record is read on every lookup.
const MAX_LOG = 64 * 1024;

export class OutputState {
  constructor(private readonly dir: string) {}

  #file(taskId: string): string {
    return path.join(this.dir, `${taskFileName(taskId)}.json`);
  }

  /** The last record of a task, if any. */
  load(taskId: string): OutputRecord | undefined {
    try {
      const rec = JSON.parse(readFileSync(this.#file(taskId), 'utf8')) as OutputRecord;
      return Array.isArray(rec.watch) && Array.isArray(rec.files) ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  /** True when the outputs under `cwd` are exactly the recorded ones, unmodified. */
  inPlace(rec: OutputRecord, cwd: string): boolean {
    for (const [p, m] of rec.watch) if (mtimeOf(cwd, p) !== m) return false;
    for (const r of rec.files) {
      const f = statOne(cwd, r[0]);
      if (!f || f[1] !== r[1] || f[2] !== r[2] || f[3] !== r[3] || f[4] !== r[4]) return false;
    }
    return true;
  }

  /** Records the outputs just scanned as those of `hash`. */
  record(
    taskId: string,
    hash: string,
    cwd: string,
    scan: OutputScan,
    meta: { log: string; durationMs: number },
  ): void {
    const files: FileStat[] = [];
    for (const e of scan.entries) {
      const f = statOne(cwd, e.path);
      if (!f) return; // changed under us: record nothing rather than something wrong
      files.push(f);
    }
    const rec: OutputRecord = {
      hash,
      files,
      watch: scan.watch.map((p) => [p, mtimeOf(cwd, p)]),
      durationMs: meta.durationMs,
      usedAt: Date.now(),
    };
    if (meta.log.length <= MAX_LOG) rec.log = meta.log;
    this.#write(taskId, rec);
  }

  /** Notes that the entry behind `rec` was just marked as used. */
  markUsed(taskId: string, rec: OutputRecord): void {
    this.#write(taskId, { ...rec, usedAt: Date.now() });
  }

  #write(taskId: string, rec: OutputRecord): void {
    mkdirSync(this.dir, { recursive: true });
    // Written in place (no temp + rename: file creation is the slow part of a restore); a torn
    // record fails to parse, which only means one restore that was not needed.
    writeFileSync(this.#file(taskId), JSON.stringify(rec));
  }
}

function mtimeOf(cwd: string, rel: string): number {
  try {
    return lstatSync(rel ? path.join(cwd, rel) : cwd).mtimeMs;
  } catch {
    return -1;
  }
}

function statOne(cwd: string, rel: string): FileStat | undefined {
  try {
    const st = lstatSync(path.join(cwd, rel));
    if (st.isDirectory()) return [rel, st.mode & 0o7777, 0, 0, 0];
    return [rel, st.mode & 0o7777, st.size, st.mtimeMs, st.ino];
  } catch {
    return undefined;
  }
}
