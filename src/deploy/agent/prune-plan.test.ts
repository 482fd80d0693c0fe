import { describe, expect, it } from 'vitest';
import type { ReleaseId } from '../types.js';
import { prunePlan } from './prune-plan.js';

const r = (n: number) => `v${n}-00000000000${n}` as ReleaseId;

describe('prunePlan', () => {
  const base = {
    releases: [r(1), r(2), r(3), r(4), r(5)],
    usedAt: (id: ReleaseId) => Number(id.slice(1, 2)),
    keep: 2,
    pinned: [] as (ReleaseId | null)[],
    staging: [] as ReleaseId[],
    stagedBy: new Map<ReleaseId, string>(),
    holder: undefined as string | undefined,
    twins: new Map<ReleaseId, ReleaseId>(),
  };

  it('keeps the most recently used, removes the rest newest first', () => {
    expect(prunePlan(base).remove).toEqual([r(3), r(2), r(1)]);
  });

  it('never removes a pinned, staging, live-holder or twin-owning release', () => {
    // Kept by recency: r5, r4. The others each have one reason to stay.
    const plan = prunePlan({
      ...base,
      pinned: [r(1), null],
      staging: [r(2)],
      stagedBy: new Map([[r(3), 'gone']]),
      holder: 'live',
      twins: new Map([[r(5), r(3)]]),
    });
    expect(plan.remove).toEqual([]);
    expect(plan.staleHolders).toEqual([r(3)]);
  });

  it('removes a release staged by a holder that is no longer live', () => {
    const plan = prunePlan({ ...base, stagedBy: new Map([[r(3), 'gone']]), holder: 'live' });
    expect(plan.remove).toEqual([r(3), r(2), r(1)]);
    const held = prunePlan({ ...base, stagedBy: new Map([[r(3), 'live']]), holder: 'live' });
    expect(held.remove).toEqual([r(2), r(1)]);
  });

  it('keeps at least one release even when asked to keep none', () => {
    expect(prunePlan({ ...base, keep: 0 }).remove).toHaveLength(4);
  });
});
