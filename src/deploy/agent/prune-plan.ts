/**
 * Which kept releases an activation prunes: all but the `keep` most recently used, never the
 * pinned ones (the new and the previous `current`), one being staged, one staged by the live
 * holder of the deploy lock, nor the folder a kept twin shares.
 */
import type { ReleaseId } from '../types.js';

export interface PrunePlanInput {
  releases: ReleaseId[];
  /** When each release was last staged or activated (epoch ms). */
  usedAt: (id: ReleaseId) => number;
  keep: number;
  pinned: (ReleaseId | null)[];
  staging: Iterable<ReleaseId>;
  /** Releases staged under a deploy lock, by holder. */
  stagedBy: Map<ReleaseId, string>;
  /** The live lock holder, if any. */
  holder: string | undefined;
  /** Twin -> the release whose folder it shares. */
  twins: Map<ReleaseId, ReleaseId>;
}

/** The releases to remove, most recently used first, and the stagedBy entries now stale. */
export function prunePlan(i: PrunePlanInput): { remove: ReleaseId[]; staleHolders: ReleaseId[] } {
  const ordered = [...i.releases].sort((a, b) => i.usedAt(b) - i.usedAt(a));
  const keepSet = new Set<ReleaseId>(ordered.slice(0, Math.max(1, i.keep)));
  for (const p of i.pinned) if (p) keepSet.add(p);
  for (const id of i.staging) keepSet.add(id);
  // Another deployment's staged release is never pruned from under it: with the lock only its
  // holder activates (and prunes), but a release staged by the live holder stays either way.
  const staleHolders: ReleaseId[] = [];
  for (const [id, h] of i.stagedBy) {
    if (h === i.holder) keepSet.add(id);
    else staleHolders.push(id);
  }
  // A twin's folder belongs to the release it shares: that one stays while the twin does.
  for (const [twin, of] of i.twins) if (keepSet.has(twin)) keepSet.add(of);
  return { remove: ordered.filter((id) => !keepSet.has(id)), staleHolders };
}
