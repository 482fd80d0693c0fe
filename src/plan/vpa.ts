/**
 * The right-sizing rule, in one place: the Kubernetes VPA recommender's target, p90 of observed
 * usage × 1.15. Predictions (memory a task will take) and `analyze` (what to request) both use it.
 */
import { quantile } from '../util/quantile.js';

export const TARGET_PERCENTILE = 0.9;
const SAFETY_MARGIN = 1.15;

/** How reports name the rule, e.g. "p90 × 1.15". */
export const VPA_RULE = `p${TARGET_PERCENTILE * 100} × ${SAFETY_MARGIN}`;

/** p90 × 1.15 of the samples; undefined without samples. */
export function vpaTarget(samples: readonly number[]): number | undefined {
  if (!samples.length) return undefined;
  return quantile(samples, TARGET_PERCENTILE) * SAFETY_MARGIN;
}
