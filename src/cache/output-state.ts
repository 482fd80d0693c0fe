/**
 * What a task's outputs looked like (by stat) right after we saved or restored them, so a hit
 * whose outputs are still on disk untouched skips the copy.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { taskFileName } from './safe-path.js';
import type { WalkEntry } from './walk.js';

/** [path, kind, mode, size, mtimeMs, ino] */
type FileStat = [string, string, number, number, number, number];

interface State {
  hash: string;
  files: FileStat[];
}

export class OutputState {
  constructor(private readonly dir: string) {}

  #file(taskId: string): string {
    return path.join(this.dir, `${taskFileName(taskId)}.json`);
  }

  /** True when `entries` (just walked under `cwd`) are exactly what was recorded for `hash`. */
  matches(taskId: string, hash: string, cwd: string, entries: readonly WalkEntry[]): boolean {
    let state: State;
    try {
      state = JSON.parse(readFileSync(this.#file(taskId), 'utf8')) as State;
    } catch {
      return false;
    }
    if (state.hash !== hash || state.files.length !== entries.length) return false;
    const now = statAll(cwd, entries);
    if (!now) return false;
    return now.every((f, i) => {
      const r = state.files[i];
      return r !== undefined && f.every((v, j) => v === r[j]);
    });
  }

  /** Records the current stat of `entries` as the outputs of `hash`. */
  record(taskId: string, hash: string, cwd: string, entries: readonly WalkEntry[]): void {
    const files = statAll(cwd, entries);
    if (!files) return;
    mkdirSync(this.dir, { recursive: true });
    const file = this.#file(taskId);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ hash, files } satisfies State));
    renameSync(tmp, file);
  }
}

function statAll(cwd: string, entries: readonly WalkEntry[]): FileStat[] | undefined {
  const out: FileStat[] = [];
  for (const e of entries) {
    try {
      const st = lstatSync(path.join(cwd, e.path));
      // Folders' mtimes change whenever anything inside does; their contents are checked anyway.
      const isDir = e.kind === 'dir';
      out.push([
        e.path,
        e.kind,
        st.mode & 0o7777,
        isDir ? 0 : st.size,
        isDir ? 0 : st.mtimeMs,
        isDir ? 0 : st.ino,
      ]);
    } catch {
      return undefined;
    }
  }
  return out;
}
