/** Puts a hit's outputs back: stale files in the declared outputs go first, then the archive. */
import { rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../util/result.js';
import { extractArchive, readArchive } from './archive.js';
import type { OutputState } from './output-state.js';
import { collectMatches, globSet } from './walk.js';

export interface RestoreRequest {
  taskId: string;
  hash: string;
  /** Absolute task folder. */
  cwd: string;
  outputs: readonly string[];
  archive: Buffer;
  state: OutputState;
}

/** Restores outputs (or confirms they are already in place); fails on an unsafe archive. */
export function restoreOutputs(req: RestoreRequest): Result<{ skipped: boolean; bytes: number }, string> {
  const globs = globSet(req.outputs);
  const current = req.outputs.length ? collectMatches(req.cwd, globs) : [];
  if (req.state.matches(req.taskId, req.hash, req.cwd, current)) return ok({ skipped: true, bytes: 0 });

  // Check the whole archive before deleting anything, so a refused archive changes nothing.
  const items = readArchive(req.archive);
  if (!items.ok) return err(items.error);
  for (const it of items.value) {
    if (!globs.match(it.path))
      return err(`archive entry "${it.path}" is not among the task's declared outputs`);
  }

  removeStale(req.cwd, current);
  const done = extractArchive(req.cwd, items.value);
  if (!done.ok) return done;
  req.state.record(req.taskId, req.hash, req.cwd, collectMatches(req.cwd, globs));
  return ok({ skipped: false, bytes: done.value.bytes });
}

function removeStale(cwd: string, entries: readonly { path: string; kind: string }[]): void {
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
