/**
 * Archives a task's outputs for the cache, refusing outputs that changed while being read. A
 * process the task left behind, or anything else writing into the outputs (another run in the
 * same checkout before the run lock existed), could otherwise be caught half-way: the entry would
 * hold a mix of two writes, and every later run would restore it as a hit. So every output path
 * is stat-ed (size, mtime and ctime to the nanosecond, inode, mode) before the archive is made,
 * and the outputs are scanned and stat-ed again after: any difference, or a path that appeared
 * or vanished, means no entry (the caller warns; the task itself still succeeded).
 *
 * Stat cannot see a same-size rewrite within one tick of the file system's clock; the run lock
 * (util/run-lock.ts) is what keeps other runs out, this check catches what slips past it.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../util/result.js';
import { createArchive } from './archive.js';
import { currentOutputs, type OutputScan } from './restore.js';

export interface ArchivedOutputs {
  archive: Buffer;
  /** The outputs as archived (for the output state record). */
  scan: OutputScan;
}

/** Test seam: runs between the archive and the second look. */
export interface ArchiveHooks {
  afterArchive?: () => void;
}

/** Scans and archives the outputs; fails when they changed meanwhile (the message says which). */
export function archiveOutputs(
  cwd: string,
  outputs: readonly string[],
  hooks: ArchiveHooks = {},
): Result<ArchivedOutputs, string> {
  const scan = currentOutputs(cwd, outputs);
  const before = scan.entries.map((e) => signature(path.join(cwd, e.path)));
  const archive = createArchive(cwd, scan.entries);
  if (!archive.ok) return archive;
  hooks.afterArchive?.();
  const again = currentOutputs(cwd, outputs).entries;
  for (let i = 0; i < Math.max(again.length, scan.entries.length); i++) {
    const was = scan.entries[i];
    const now = again[i];
    if (was?.path !== now?.path || was?.kind !== now?.kind) {
      const p = (was && now ? (was.path < now.path ? was : now) : (was ?? now))!.path;
      return err(`its outputs changed while being archived ("${p}" appeared or vanished)`);
    }
  }
  for (const [i, e] of scan.entries.entries()) {
    if (signature(path.join(cwd, e.path)) !== before[i]) {
      return err(`its outputs changed while being archived ("${e.path}" was written meanwhile)`);
    }
  }
  return ok({ archive: archive.value, scan });
}

function signature(abs: string): string {
  const st = lstatSync(abs, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.size} ${st.mtimeNs} ${st.ctimeNs} ${st.ino} ${st.mode}` : '';
}
