/** Puts a hit's outputs back: stale files in the declared outputs go first, then the archive. */
import { rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../util/result.js';
import { checkLinksOnDisk, extractArchive, readArchive } from './archive.js';
import { collectMatches, globSet, type WalkEntry } from './walk.js';

export interface RestoreRequest {
  /** Absolute task folder. */
  cwd: string;
  outputs: readonly string[];
  archive: Buffer;
  /** What is on disk now under the outputs (from `currentOutputs`). */
  current: readonly WalkEntry[];
}

export interface OutputScan {
  /** Files, folders and symlinks on disk that the task's output globs cover. */
  entries: WalkEntry[];
  /** Every folder the scan looked into. */
  watch: string[];
}

/** Scans the task's outputs on disk. */
export function currentOutputs(cwd: string, outputs: readonly string[]): OutputScan {
  const watch: string[] = [];
  return { entries: outputs.length ? collectMatches(cwd, globSet(outputs), watch) : [], watch };
}

/** Restores outputs; fails (having changed nothing) on an unsafe archive. Returns what is now on disk. */
export function restoreOutputs(req: RestoreRequest): Result<{ bytes: number; scan: OutputScan }, string> {
  // Check the whole archive before deleting anything, so a refused archive changes nothing.
  const items = readArchive(req.archive);
  if (!items.ok) return err(items.error);
  const globs = globSet(req.outputs);
  for (const it of items.value) {
    if (!globs.match(it.path))
      return err(`archive entry "${it.path}" is not among the task's declared outputs`);
  }
  const links = checkLinksOnDisk(req.cwd, items.value);
  if (!links.ok) return links;
  removeStale(req.cwd, req.current);
  const done = extractArchive(req.cwd, items.value);
  if (!done.ok) return done;
  return ok({ bytes: done.value.bytes, scan: currentOutputs(req.cwd, req.outputs) });
}

function removeStale(cwd: string, entries: readonly WalkEntry[]): void {
  const dirs: string[] = [];
  for (const e of entries) {
    const abs = path.join(cwd, e.path);
    if (e.kind === 'dir') dirs.push(abs);
    else rmSync(abs, { force: true });
  }
  // Deepest first; a folder that still holds something outside the outputs stays.
  for (const d of dirs.sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
    } catch {
      // Not empty: it holds files the outputs do not cover.
    }
  }
}
