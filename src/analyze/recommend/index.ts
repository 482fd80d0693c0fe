/** All recommendations, ranked by the time they save per run. */
import type { RightSizing } from '../right-size.js';
import { cachingRecommendations } from './caching.js';
import { concurrencyRecommendations } from './concurrency.js';
import { resourceRecommendations, rightSizings } from './resources.js';
import { dependencyRecommendations, splitRecommendations } from './structure.js';
import type { Recommendation, RecommendContext } from './types.js';

export type { Recommendation, RecommendContext } from './types.js';

/** Savings below this share of the makespan are within the predictions' own noise. */
const MIN_SHARE = 0.02;

/** Recommendations sorted by savings (largest first), with the right-sizing estimates they used. */
export function recommend(ctx: RecommendContext): {
  recommendations: Recommendation[];
  rightSizing: RightSizing[];
} {
  const sizing = rightSizings(ctx);
  const all = [
    ...cachingRecommendations(ctx),
    ...concurrencyRecommendations(ctx),
    ...splitRecommendations(ctx),
    ...dependencyRecommendations(ctx),
    ...resourceRecommendations(ctx, sizing),
  ].filter(
    (r) => r.savedMsPerRun >= MIN_SHARE * r.baselineMs || (r.kind === 'right-size' && r.savedMsPerRun === 0),
  );
  all.sort((a, b) => b.savedMsPerRun - a.savedMsPerRun || a.target.localeCompare(b.target));
  return { recommendations: all, rightSizing: sizing };
}
