/**
 * Overviews per pipeline, recomputed only when the pipeline's history changed (a cheap
 * fingerprint query) or the cached one is older than a minute (the 30-day windows move).
 * Concurrent requests for the same pipeline share one computation. Recomputing re-detects
 * regressions over the newest 1000 runs and records them, as `slipway report` does.
 */
import { syncFindings } from '../analyze/findings-store.js';
import { loadRuns } from '../analyze/history.js';
import { scanRegressions } from '../analyze/regressions.js';
import type { Pipeline } from '../config/types.js';
import { deploymentsSince } from '../deploy/records.js';
import { historyFingerprint } from '../store/dashboard-queries.js';
import type { Store } from '../store/store.js';
import { buildOverview, type Overview, WINDOW_MS } from './overview.js';

const MAX_AGE_MS = 60_000;

interface Entry {
  fingerprint: string;
  at: number;
  value: Promise<Overview>;
}

export class OverviewCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly config: Pipeline | undefined,
    private readonly now: () => number,
  ) {}

  async get(pipeline: string): Promise<Overview> {
    const fingerprint = await historyFingerprint(this.store.db, pipeline);
    const at = this.now();
    const e = this.#entries.get(pipeline);
    if (e && e.fingerprint === fingerprint && at - e.at < MAX_AGE_MS) return e.value;
    const value = this.#build(pipeline, at);
    this.#entries.set(pipeline, { fingerprint, at, value });
    // A failed computation is not remembered.
    value.catch(() => this.#entries.delete(pipeline));
    return value;
  }

  forget(pipeline: string): void {
    this.#entries.delete(pipeline);
  }

  async #build(pipeline: string, now: number): Promise<Overview> {
    // The same detection `slipway report` runs, so a slowdown shows here without a report first.
    const runs = await loadRuns(this.store.db, { pipeline, limit: 1000 });
    await syncFindings(this.store.db, pipeline, scanRegressions(runs), now);
    const deployments = await deploymentsSince(this.store.db, now - 2 * WINDOW_MS);
    return buildOverview(this.store, {
      pipeline,
      deployments,
      now,
      ...(this.config ? { config: this.config } : {}),
    });
  }
}
