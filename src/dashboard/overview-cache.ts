/**
 * Overviews per pipeline, recomputed only when the pipeline's history changed (a cheap
 * fingerprint query, asked at most once a second) or the cached one is older than a minute (the
 * 30-day windows move).
 * Concurrent requests for the same pipeline share one computation. Recomputing re-detects
 * regressions over the newest 1000 runs and records them, as `slipway report` does.
 */
import { syncFindings } from '../analyze/findings-store.js';
import { loadRuns } from '../analyze/history.js';
import { scanRegressions } from '../analyze/regressions.js';
import type { Pipeline } from '../config/types.js';
import type { PipelineRow } from '../store/dashboard-queries.js';
import type { Store } from '../store/store.js';
import { buildOverview, type Overview, WINDOW_MS } from './overview.js';

const MAX_AGE_MS = 60_000;

interface Entry {
  fingerprint: string;
  at: number;
  /** When the fingerprint was last compared (monotonic ms). */
  checked: number;
  value: Promise<Overview>;
}

/** The history is looked at no more often than this: the overview is at most a second stale. */
const CHECK_MS = 1000;

export class OverviewCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly config: Pipeline | undefined,
    private readonly now: () => number,
  ) {}

  #pipelines: { checked: number; value: Promise<PipelineRow[]> } | undefined;

  /** The store's pipelines, looked up at most once a second. */
  pipelines(): Promise<PipelineRow[]> {
    const t = performance.now();
    if (!this.#pipelines || t - this.#pipelines.checked >= CHECK_MS) {
      const value = this.store.dashboard.pipelinesOf();
      this.#pipelines = { checked: t, value };
      value.catch(() => {
        this.#pipelines = undefined;
      });
    }
    return this.#pipelines.value;
  }

  async get(pipeline: string): Promise<Overview> {
    const e = this.#entries.get(pipeline);
    const t = performance.now();
    if (e && t - e.checked < CHECK_MS) return e.value;
    const fingerprint = await this.store.dashboard.historyFingerprint(pipeline);
    const at = this.now();
    if (e && e.fingerprint === fingerprint && at - e.at < MAX_AGE_MS) {
      e.checked = t;
      return e.value;
    }
    const value = this.#build(pipeline, at);
    this.#entries.set(pipeline, { fingerprint, at, checked: t, value });
    // A failed computation is not remembered.
    value.catch(() => this.#entries.delete(pipeline));
    return value;
  }

  forget(pipeline: string): void {
    this.#entries.delete(pipeline);
  }

  async #build(pipeline: string, now: number): Promise<Overview> {
    // The same detection `slipway report` runs, so a slowdown shows here without a report first.
    const runs = await loadRuns(this.store, { pipeline, limit: 1000 });
    await syncFindings(this.store, pipeline, scanRegressions(runs), now);
    const deployments = await this.store.deployments.since(now - 2 * WINDOW_MS);
    return buildOverview(this.store, {
      pipeline,
      deployments,
      now,
      ...(this.config ? { config: this.config } : {}),
    });
  }
}
