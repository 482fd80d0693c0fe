/**
 * Analytics bench (`npm run bench`, or alone: `node dist/bench/analytics.js [--quick]`):
 * change-point recall and false findings on seeded series, what-if accuracy against measured
 * runs, and one recommendation applied for real.
 */
import { benchDetection } from './analytics-detection.js';
import { benchRecommendation, benchWhatIf } from './analytics-pipelines.js';
import { runAlone } from './lib/alone.js';
import type { BenchOptions, BenchRow } from './lib/row.js';

/** Every analytics figure, one row each. */
export async function benchAnalytics(options: BenchOptions): Promise<BenchRow[]> {
  const { root, quick, log } = options;
  const rows = benchDetection(root, quick, log);
  rows.push(...(await benchWhatIf(root, quick, log)));
  rows.push(...(await benchRecommendation(root, quick, log)));
  return rows;
}

// Alone: `node dist/bench/analytics.js [--quick]`.
runAlone(import.meta.url, benchAnalytics);
