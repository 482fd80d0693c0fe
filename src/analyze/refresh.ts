/** Detect regressions over the stored history and record them: shared by report, regressions and check. */
import type { Pipeline } from '../config/types.js';
import type { Store } from '../store/store.js';
import type { ChangePointOptions } from './change-points.js';
import { type Finding, syncFindings } from './findings-store.js';
import type { RunRecord } from './history.js';
import { type RegressionScan, type Suspect, scanRegressions } from './regressions.js';

export interface RegressionState {
  findings: Finding[];
  suspects: Suspect[];
  scan: RegressionScan;
}

/** Scans the runs (oldest first) and syncs the findings table. */
export async function refreshRegressions(
  store: Store,
  pipeline: Pipeline,
  runs: readonly RunRecord[],
  opts: { now: number; detection?: ChangePointOptions; since?: number },
): Promise<RegressionState> {
  const scan = scanRegressions(runs, opts.detection, opts.since !== undefined ? { since: opts.since } : {});
  const findings = await syncFindings(store, pipeline.name, scan, opts.now);
  return { findings, suspects: scan.suspects, scan };
}
