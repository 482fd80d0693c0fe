/**
 * What an agent does when it opens its folder after a stop or a crash: load the chunk index and the
 * kept releases, drop twins whose folder's owner is gone, read half-staged releases back for
 * their intact chunks, and spread the folders releases are assembled in over the disk.
 */
import { mkdir } from 'node:fs/promises';
import type { Manifest } from '../manifest.js';
import type { ReleaseId } from '../types.js';
import type { ChunkIndex } from './chunk-index.js';
import type { Layout } from './layout.js';
import { loadReleases, removeRelease } from './releases.js';
import { spreadInodes } from './spread-inodes.js';
import { StagingArea } from './staging-area.js';
import { readTwins } from './twins.js';

export interface SweptFolder {
  manifests: Map<ReleaseId, Manifest>;
  /** Twin -> the kept release whose folder it shares. */
  twins: Map<ReleaseId, ReleaseId>;
  /** Releases left half-staged (a failed transfer, a crash), to resume. */
  areas: StagingArea[];
}

/** Loads `index` and cleans up the agent folder; answers what it keeps. */
export async function sweepAtStartup(layout: Layout, index: ChunkIndex): Promise<SweptFolder> {
  await index.load();
  const kept = await loadReleases(layout);
  const found = await readTwins(layout);
  const twins = new Map<ReleaseId, ReleaseId>();
  for (const [id, of] of found) {
    if (!kept.has(id)) continue;
    if (kept.has(of) && !found.has(of)) twins.set(id, of);
    else {
      // Its folder's owner is gone (a crash while pruning): so is the twin.
      kept.delete(id);
      await removeRelease(layout, id);
    }
  }
  for (const [id, m] of kept) index.addRelease(id, m);
  // Half-staged releases: what their files hold is read back and hashed, and the intact
  // chunks are there for the next stage (of that release or another) and for neighbours.
  const areas = await StagingArea.reopen(
    layout,
    (id) => kept.has(id),
    (chunk, loc) => index.addStaged(chunk, loc),
  );
  // Each release assembled in a lightly used block group of ext4 (spread-inodes.ts); the
  // releases folder too, for assemblies in a temporary folder there.
  await mkdir(layout.releases, { recursive: true });
  await Promise.all([spreadInodes(layout.staging), spreadInodes(layout.releases)]);
  return { manifests: kept, twins, areas };
}
