/**
 * Pruning after an activation: the releases prune-plan.ts picks are forgotten and removed, then
 * pool chunks in no kept release and staging folders nobody resumed within `maxAgeMs` go too.
 */
import { failpoint } from '../../util/failpoint.js';
import { trace } from '../../util/trace.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { ChunkIndex } from './chunk-index.js';
import type { KeptReleases } from './kept-releases.js';
import type { Layout } from './layout.js';
import { prunePlan } from './prune-plan.js';
import type { ReleaseTimes } from './release-times.js';
import { removeRelease } from './releases.js';
import type { Stager } from './stager.js';

export interface PruneOptions {
  layout: Layout;
  index: ChunkIndex;
  kept: KeptReleases;
  times: ReleaseTimes;
  stager: Pick<Stager, 'stagedBy' | 'running' | 'dropStale'>;
  /** The live deploy lock's holder, if any: what it staged stays. */
  holder: string | undefined;
  keep: number;
  /** Never removed: the new and the previous `current`. */
  pinned: (ReleaseId | null)[];
  /** How long pool chunks and staging folders of unfinished transfers are kept for a resume. */
  maxAgeMs: number;
}

/** Removes the releases beyond `keep` and what only they and stale transfers held. */
export async function pruneReleases(o: PruneOptions): Promise<void> {
  const { layout, index, kept, times, stager } = o;
  const { remove, staleHolders } = prunePlan({
    releases: [...kept.manifests.keys()],
    usedAt: (id) => times.usedAt(id),
    keep: o.keep,
    pinned: o.pinned,
    staging: stager.running(),
    stagedBy: stager.stagedBy,
    holder: o.holder,
    twins: kept.twins,
  });
  for (const id of staleHolders) stager.stagedBy.delete(id);
  // The state forgets them before their folders go: its fsync then does not wait behind the
  // journal's commit of a large release's deletion (30-70 ms of every activation's answer on the
  // deploy bench's 200 MB file, when it came last). A crash in between leaves kept releases
  // without timestamps, which are pruned first next time.
  await times.forget(remove);
  for (const id of remove) {
    await removeRelease(layout, id);
    kept.manifests.delete(id);
    kept.twins.delete(id);
    index.dropRelease(id);
    failpoint('agent:pruned');
  }
  // Made only when the pool has a chunk to look up: after a deploy whose chunks all went straight
  // into its files it has none, and the set cost 20,000 insertions per kept release.
  let inRelease: Set<ChunkId> | undefined;
  const inKept = (id: ChunkId) => {
    if (!inRelease) {
      inRelease = new Set<ChunkId>();
      for (const m of kept.manifests.values())
        for (const e of m.entries) if (e.type === 'file') for (const c of e.chunks) inRelease.add(c[0]);
    }
    return inRelease.has(id);
  };
  trace('prune: releases removed');
  await index.prunePool(inKept, o.maxAgeMs);
  // Staging folders nobody resumed within the same time go too.
  await stager.dropStale(o.maxAgeMs);
  // Pool copies are gone and pruned releases forgotten: point every chunk at a kept release.
  for (const [id, m] of kept.manifests) index.addRelease(id, m);
  kept.files.rebuild(kept.manifests);
  trace('prune: done');
}
