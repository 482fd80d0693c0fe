/**
 * Putting a kept release's unchanged files into a new release without reading them: a clone
 * (reflink) where the filesystem has them, else a hard link, else a kernel copy. An edit of a
 * 20,000-file release links 19,800 of them; those go in one synchronous pass, in slices that
 * yield to the event loop between them, rather than as one promise chain (and thread-pool round
 * trip) per file: a stat and a link are a few microseconds of kernel time each, which per-file
 * awaits and the garbage they leave cost as much again (assembly.ts assembles the rest).
 */
import { constants, linkSync } from 'node:fs';
import { chmod, copyFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { fsyncPath } from '../../state/atomic-write.js';
import type { ManifestEntry } from '../manifest.js';
import type { FileStats, SameFile } from './release-stats.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/**
 * A kept release's file with the same content, untouched since assembly: answered at once when
 * what it needs is loaded (file-index.ts), else as a promise.
 */
export type SameAs = (e: FileEntry) => SameFile | undefined | Promise<SameFile | undefined>;

/** Whether this filesystem clones files (reflink): tried once per folder, then remembered. */
const cloning = new Map<string, boolean>();

/**
 * Whether unchanged files are hard-linked into `releases`, not cloned: learnt at the first
 * reuse() there, or by a probe file cloned in `probeDir` (a folder on the same filesystem: the
 * staging folder) when not known yet. link-ahead.ts links only where files are not cloned.
 */
export async function linksInto(releases: string, probeDir: string): Promise<boolean> {
  if (!cloning.has(releases)) {
    const probe = path.join(probeDir, `.clone-probe-${process.pid}`);
    try {
      await writeFile(probe, 'probe');
      const cloned = await copyFile(probe, `${probe}.copy`, constants.COPYFILE_FICLONE_FORCE).then(
        () => true,
        () => false,
      );
      cloning.set(releases, cloned);
    } catch {
      // Unknown still: the first reuse() finds out.
    } finally {
      await Promise.all([rm(probe, { force: true }), rm(`${probe}.copy`, { force: true })]).catch(() => {});
    }
  }
  return cloning.get(releases) === false;
}

/** Files linked between two turns of the event loop (about 5-10 ms of stat and link here). */
const SLICE = 512;

/**
 * Hard-links every file of `files` whose kept twin `sameAs` answers at once and whose mode
 * matches, at `${tmp}/${path}`, recording its stats; returns the files left to the caller (no
 * twin, a twin only a promise gives, another mode, a failed link, or a filesystem that clones:
 * the caller's reuse() does those, with a thread-pool call each). `files` are fresh paths in a fresh folder (none exists yet).
 */
export async function linkUnchanged(opts: {
  files: FileEntry[];
  tmp: string;
  releases: string;
  sameAs: SameAs;
  stats: FileStats;
}): Promise<{ linked: number; rest: FileEntry[] }> {
  const { files, tmp, sameAs, stats } = opts;
  const rest: FileEntry[] = [];
  let linked = 0;
  for (let at = 0; at < files.length; at += SLICE) {
    if (at > 0) await yieldLoop();
    const end = Math.min(at + SLICE, files.length);
    for (let i = at; i < end; i++) {
      const e = files[i]!;
      const same = sameAs(e);
      const mode = e.mode & 0o777;
      const dest = `${tmp}${path.sep}${e.path}`;
      const clones = cloning.get(opts.releases);
      if (same === undefined || same instanceof Promise || clones === true) rest.push(e);
      // Unknown yet on this filesystem: the first twin is cloned or linked as reuse() can, which finds out.
      else if (
        clones === undefined
          ? await reuse(same, mode, dest, opts.releases)
          : (same.mode & 0o777) === mode && tryLink(same.path, dest)
      ) {
        linked++;
        stats[e.path] = [same.size, same.mtimeMs];
      } else rest.push(e);
    }
  }
  return { linked, rest };
}

/**
 * Puts a kept release's identical file at `dest` without reading it: a clone where the
 * filesystem has them (its own blocks, copy-on-write), else a hard link when the mode matches
 * (the inode is shared, so it must never be written or chmodded: nothing here does either),
 * else a kernel copy. False when none worked (then it is written from chunks).
 */
export async function reuse(same: SameFile, mode: number, dest: string, releases: string): Promise<boolean> {
  const clones = cloning.get(releases);
  if (clones !== false) {
    const cloned = await copyFile(same.path, dest, constants.COPYFILE_FICLONE_FORCE).then(
      () => true,
      () => false,
    );
    if (clones === undefined) cloning.set(releases, cloned);
    if (cloned) {
      if ((same.mode & 0o777) !== mode) await chmod(dest, mode);
      return true;
    }
  }
  // Synchronous: a link is one metadata call, and thousands of them cost milliseconds this way
  // but a thread-pool round trip each otherwise.
  if ((same.mode & 0o777) === mode && tryLink(same.path, dest)) return true;
  // Another mode: a copy of its own (the kernel copies; the source was fsynced long ago, the
  // copy is synced like a written file).
  if (
    !(await copyFile(same.path, dest, constants.COPYFILE_EXCL).then(
      () => true,
      () => false,
    ))
  )
    return false;
  await chmod(dest, mode);
  await fsyncPath(dest);
  return true;
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch {
    return false;
  }
}
