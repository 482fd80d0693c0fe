/**
 * /metrics (prom-client): every finished run, task run and deployment in the store is observed
 * once, when a scrape first sees it (so counters only grow and `rate()` works across processes
 * writing the same store); SLIs, error budgets, open regressions and running runs are gauges read
 * at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isCacheHit } from '../analyze/history.js';
import type { Store } from '../store/store.js';
import type { OverviewCache } from './overview-cache.js';

const BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];
/** Rows may commit a little after their end time (another process's batch): look back this far. */
const LAG_MS = 10 * 60_000;

export class DashboardMetrics {
  readonly registry = new Registry();
  readonly #store: Store;
  readonly #overviews: OverviewCache;
  #runCursor = 0;
  #deployCursor = 0;
  readonly #seenRuns = new Map<string, number>();
  readonly #seenDeploys = new Map<string, number>();
  #busy: Promise<void> = Promise.resolve();

  readonly #runSeconds: Histogram<'pipeline' | 'status'>;
  readonly #taskSeconds: Histogram<'pipeline' | 'task'>;
  readonly #runs: Counter<'pipeline' | 'status'>;
  readonly #cacheHits: Counter<'pipeline' | 'source'>;
  readonly #cacheMisses: Counter<'pipeline'>;
  readonly #cacheSaved: Counter<'pipeline'>;
  readonly #deploys: Counter<'environment' | 'status'>;
  readonly #deploySeconds: Histogram<'environment'>;
  readonly #deployBytes: Counter<'environment'>;
  readonly #running: Gauge<'pipeline'>;
  readonly #sli: Gauge<'pipeline' | 'sli'>;
  readonly #sliTarget: Gauge<'pipeline' | 'sli'>;
  readonly #budget: Gauge<'pipeline' | 'sli'>;
  readonly #regressions: Gauge<'pipeline'>;

  constructor(o: { store: Store; overviews: OverviewCache }) {
    this.#store = o.store;
    this.#overviews = o.overviews;
    const registers = [this.registry];
    this.#runSeconds = new Histogram({
      name: 'slipway_run_duration_seconds',
      help: 'Wall time of finished pipeline runs',
      labelNames: ['pipeline', 'status'],
      buckets: BUCKETS,
      registers,
    });
    this.#taskSeconds = new Histogram({
      name: 'slipway_task_duration_seconds',
      help: 'Duration of task executions that ran (cache hits excluded)',
      labelNames: ['pipeline', 'task'],
      buckets: BUCKETS,
      registers,
    });
    this.#runs = new Counter({
      name: 'slipway_runs_total',
      help: 'Finished pipeline runs by outcome',
      labelNames: ['pipeline', 'status'],
      registers,
    });
    this.#cacheHits = new Counter({
      name: 'slipway_cache_hits_total',
      help: 'Tasks restored from the cache',
      labelNames: ['pipeline', 'source'],
      registers,
    });
    this.#cacheMisses = new Counter({
      name: 'slipway_cache_misses_total',
      help: 'Cacheable tasks that had to run',
      labelNames: ['pipeline'],
      registers,
    });
    this.#cacheSaved = new Counter({
      name: 'slipway_cache_saved_seconds_total',
      help: 'Task time cache hits saved',
      labelNames: ['pipeline'],
      registers,
    });
    this.#deploys = new Counter({
      name: 'slipway_deployments_total',
      help: 'Finished deployments by outcome',
      labelNames: ['environment', 'status'],
      registers,
    });
    this.#deploySeconds = new Histogram({
      name: 'slipway_deployment_duration_seconds',
      help: 'Wall time of finished deployments',
      labelNames: ['environment'],
      buckets: BUCKETS,
      registers,
    });
    this.#deployBytes = new Counter({
      name: 'slipway_deployment_bytes_sent_total',
      help: 'Bytes deployments moved to targets',
      labelNames: ['environment'],
      registers,
    });
    this.#running = new Gauge({
      name: 'slipway_runs_running',
      help: 'Runs in progress',
      labelNames: ['pipeline'],
      registers,
    });
    this.#sli = new Gauge({
      name: 'slipway_sli_value',
      help: 'SLI value over the last 30 days (ratio, or seconds for time SLIs)',
      labelNames: ['pipeline', 'sli'],
      registers,
    });
    this.#sliTarget = new Gauge({
      name: 'slipway_sli_target',
      help: 'SLI target (ratio, or seconds for time SLIs)',
      labelNames: ['pipeline', 'sli'],
      registers,
    });
    this.#budget = new Gauge({
      name: 'slipway_error_budget_remaining_ratio',
      help: 'Error budget left over the SLO period (1 = untouched, below 0 = overspent)',
      labelNames: ['pipeline', 'sli'],
      registers,
    });
    this.#regressions = new Gauge({
      name: 'slipway_open_regressions',
      help: 'Open (unacknowledged, persisting) slowdowns',
      labelNames: ['pipeline'],
      registers,
    });
  }

  /** The exposition text; scrapes are serialised so nothing is observed twice. */
  async scrape(): Promise<{ type: string; body: string }> {
    const next = this.#busy.then(() => this.#refresh());
    this.#busy = next.catch(() => {});
    await next;
    return { type: this.registry.contentType, body: await this.registry.metrics() };
  }

  async #refresh(): Promise<void> {
    await this.#ingestRuns();
    await this.#ingestDeployments();
    this.#running.reset();
    for (const r of await this.#store.dashboard.runningRuns()) this.#running.inc({ pipeline: r.pipeline });
    this.#sli.reset();
    this.#sliTarget.reset();
    this.#budget.reset();
    this.#regressions.reset();
    for (const p of await this.#overviews.pipelines()) {
      const o = await this.#overviews.get(p.pipeline);
      this.#regressions.set({ pipeline: p.pipeline }, o.openRegressions.length);
      for (const s of o.slis) {
        const scale = s.unit === 'ms' ? 1 / 1000 : 1;
        const labels = { pipeline: p.pipeline, sli: s.name };
        if (s.value !== null) this.#sli.set(labels, s.value * scale);
        this.#sliTarget.set(labels, s.target * scale);
        if (s.budget) this.#budget.set(labels, s.budget.remaining);
      }
    }
  }

  async #ingestRuns(): Promise<void> {
    const rows = (await this.#store.dashboard.runsEndedSince(Math.max(0, this.#runCursor - LAG_MS))).filter(
      (r) => !this.#seenRuns.has(r.id),
    );
    if (!rows.length) return;
    const pipelineOf = new Map(rows.map((r) => [r.id, r.pipeline]));
    for (const r of rows) {
      this.#runs.inc({ pipeline: r.pipeline, status: r.status });
      if (r.duration_ms !== null)
        this.#runSeconds.observe({ pipeline: r.pipeline, status: r.status }, r.duration_ms / 1000);
      this.#seenRuns.set(r.id, r.ended_at ?? 0);
      this.#runCursor = Math.max(this.#runCursor, r.ended_at ?? 0);
    }
    for (const t of await this.#store.dashboard.taskObservations([...pipelineOf.keys()])) {
      const pipeline = pipelineOf.get(t.run_id)!;
      if (isCacheHit(t.cache)) {
        this.#cacheHits.inc({ pipeline, source: t.cache === 'hit-remote' ? 'remote' : 'local' });
        if (t.saved_ms && t.saved_ms > 0) this.#cacheSaved.inc({ pipeline }, t.saved_ms / 1000);
      } else {
        if (t.cache === 'miss') this.#cacheMisses.inc({ pipeline });
        if (t.duration_ms !== null && (t.status === 'success' || t.status === 'failed'))
          this.#taskSeconds.observe({ pipeline, task: t.task_id }, t.duration_ms / 1000);
      }
    }
    prune(this.#seenRuns, this.#runCursor - LAG_MS);
  }

  async #ingestDeployments(): Promise<void> {
    const rows = (
      await this.#store.dashboard.deploymentsEndedSince(Math.max(0, this.#deployCursor - LAG_MS))
    ).filter((d) => !this.#seenDeploys.has(d.id));
    for (const d of rows) {
      this.#deploys.inc({ environment: d.environment, status: d.status });
      if (d.duration_ms !== null)
        this.#deploySeconds.observe({ environment: d.environment }, d.duration_ms / 1000);
      this.#deployBytes.inc({ environment: d.environment }, d.bytes_sent);
      this.#seenDeploys.set(d.id, d.ended_at ?? 0);
      this.#deployCursor = Math.max(this.#deployCursor, d.ended_at ?? 0);
    }
    prune(this.#seenDeploys, this.#deployCursor - LAG_MS);
  }
}

function prune(seen: Map<string, number>, before: number): void {
  for (const [id, at] of seen) if (at < before) seen.delete(id);
}
