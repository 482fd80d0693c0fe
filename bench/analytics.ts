/**
 * Analytics bench (`npm run bench`, or alone: `node dist/bench/analytics.js [--quick]`):
 * change-point recall and false findings on seeded series, what-if accuracy against measured
 * runs, and one recommendation applied for real.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDetection } from './analytics-detection.js';
import { benchRecommendation, benchWhatIf } from './analytics-pipelines.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { renderTable } from './lib/table.js';

/** Every analytics figure, one row each. */
export async function benchAnalytics(options: BenchOptions): Promise<BenchRow[]> {
  const { root, quick, log } = options;
  const started = performance.now();
  const rows = benchDetection(quick);
  log(`analytics: detection on seeded series: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  rows.push(...(await benchWhatIf(root, quick, log)));
  rows.push(...(await benchRecommendation(root, quick, log)));
  return rows;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
  benchAnalytics({
    root,
    quick: process.argv.includes('--quick'),
    log: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (rows) => {
      process.stdout.write(`${renderTable(rows)}\n`);
      if (rows.some((r) => r.pass === false)) process.exitCode = 1;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
