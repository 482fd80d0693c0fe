/**
 * Each release's file stats as assembled (`manifests/<id>.stat`): the size and mtime of every
 * file right after assembly, the proof a kept release's file is untouched since, which twin
 * releases (twins.ts) and the links of unchanged files (file-index.ts, link-pass.ts) rely on.
 * The last assembly's stats are handed over in memory to the next deploy's file index.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../../state/atomic-write.js';
import type { ReleaseId } from '../types.js';
import type { Layout } from './layout.js';

/** Size and mtime of each file of a release right after assembly: proof it was not edited since. */
export type FileStats = Record<string, [number, number]>;

/** A kept release's file with the same content, untouched since its assembly. */
export interface SameFile {
  path: string;
  /** Its permission bits: a hard link shares them, so it is linked only when they match. */
  mode: number;
  size: number;
  mtimeMs: number;
}

/** Where a release's file stats (as assembled) are kept. */
export function statsFile(layout: Layout, id: ReleaseId): string {
  return path.join(layout.manifests, `${id}.stat`);
}

/**
 * The stats of the release this process assembled last, as written: the next deploy's file index
 * asks for them first, and they are handed over once instead of read and parsed back (20,000
 * entries).
 */
let assembled: { file: string; stats: FileStats } | undefined;

/**
 * Writes a release's stats, before its name appears (non-durable when a filesystem flush that
 * follows covers them).
 */
export function writeStats(layout: Layout, id: ReleaseId, stats: FileStats, durable: boolean): Promise<void> {
  return writeAtomic(statsFile(layout, id), JSON.stringify(stats), { durable });
}

/** Keeps the stats of the release just assembled for readStats (once). */
export function noteAssembled(layout: Layout, id: ReleaseId, stats: FileStats): void {
  assembled = { file: statsFile(layout, id), stats };
}

/** Drops the stats kept by noteAssembled when they are a removed release's. */
export function forgetAssembled(layout: Layout, id: ReleaseId): void {
  if (assembled?.file === statsFile(layout, id)) assembled = undefined;
}

/** The file stats recorded when a release was assembled. */
export async function readStats(layout: Layout, id: ReleaseId): Promise<FileStats | undefined> {
  const file = statsFile(layout, id);
  if (assembled?.file === file) {
    const { stats } = assembled;
    assembled = undefined;
    return stats;
  }
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FileStats;
  } catch {
    return undefined;
  }
}
