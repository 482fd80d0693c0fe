/** The run summary (DESIGN §11): a stable JSON contract, built from the event stream. */
import type { CacheOutcome, EventStream, RunEvent, RunOutcome, TaskStatus } from '../events.js';
import { countTasks } from '../task-counts.js';
import { describeFailure, type TaskFailure } from '../task-failure.js';
import { compareCodeUnits } from '../util/compare.js';
import { formatMs } from '../util/units.js';

export interface TaskSummary {
  id: string;
  status: TaskStatus;
  cache: CacheOutcome;
  hash?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  predictedMs: number;
  exitCode: number | null;
  cpuSeconds: number;
  peakRssBytes: number;
  attempts: number;
  savedMs?: number;
  /** Why it did not succeed, in words (`describeFailure`); `failure` says the same as a value. */
  reason?: string;
  failure?: TaskFailure;
  logFile?: string;
  /** Where it ran in a scale-out run: a worker's name, or "coordinator". */
  worker?: string;
}

export interface RunSummary {
  version: 1;
  id: string;
  pipeline: string;
  status: RunOutcome;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  concurrency: number;
  lowerBoundMs: number;
  predictedMakespanMs: number;
  /**
   * durationMs / lowerBoundMs, the lower bound over executed work only (cache hits excluded):
   * 1.0 is a perfect schedule; null when nothing ran (every task cached or skipped).
   */
  lowerBoundRatio: number | null;
  criticalPath: string[];
  cache: { hits: number; hitsLocal: number; hitsRemote: number; misses: number; savedMs: number };
  tasks: TaskSummary[];
  warnings: string[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** "lower bound 1.20s, ×1.23" (executed work only), or "all cached" when no work ran. */
export function lowerBoundText(s: Pick<RunSummary, 'lowerBoundRatio' | 'lowerBoundMs'>): string {
  return s.lowerBoundRatio === null
    ? 'all cached, no executed work to bound'
    : `lower bound ${formatMs(s.lowerBoundMs)}, ×${s.lowerBoundRatio.toFixed(2)}`;
}

/** Collects events of one run into its summary; `summary()` is complete after run-finished. */
export class SummaryCollector {
  #started: Extract<RunEvent, { type: 'run-started' }> | undefined;
  #finished: Extract<RunEvent, { type: 'run-finished' }> | undefined;
  readonly #tasks = new Map<string, TaskSummary>();
  readonly #saved = new Map<string, number>();
  readonly #warnings: string[] = [];

  constructor(events: EventStream<RunEvent>) {
    events.subscribe((e) => this.#on(e));
  }

  #on(e: RunEvent): void {
    switch (e.type) {
      case 'run-started':
        this.#started = e;
        break;
      case 'cache-hit':
        this.#saved.set(e.taskId, e.savedMs);
        break;
      case 'task-finished': {
        const saved = this.#saved.get(e.taskId);
        this.#tasks.set(e.taskId, {
          id: e.taskId,
          status: e.status,
          cache: e.cache,
          ...(e.hash ? { hash: e.hash } : {}),
          startedAt: iso(e.startedAt),
          endedAt: iso(e.at),
          durationMs: Math.round(e.durationMs),
          predictedMs: Math.round(e.predictedMs),
          exitCode: e.exitCode,
          cpuSeconds: Math.round(e.cpuSeconds * 100) / 100,
          peakRssBytes: e.peakRssBytes,
          attempts: e.attempts,
          ...(saved !== undefined ? { savedMs: Math.round(saved) } : {}),
          ...(e.failure ? { reason: describeFailure(e.failure), failure: e.failure } : {}),
          ...(e.logFile ? { logFile: e.logFile } : {}),
          ...(e.worker ? { worker: e.worker } : {}),
        });
        break;
      }
      case 'warning':
        this.#warnings.push(e.taskId ? `${e.taskId}: ${e.message}` : e.message);
        break;
      case 'run-finished':
        this.#finished = e;
        break;
      default:
        break;
    }
  }

  summary(): RunSummary {
    const s = this.#started;
    const f = this.#finished;
    if (!s || !f) throw new Error('summary requested before the run finished');
    const tasks = [...this.#tasks.values()].sort(
      (a, b) => compareCodeUnits(a.startedAt, b.startedAt) || compareCodeUnits(a.id, b.id),
    );
    const { hitsLocal, hitsRemote, misses } = countTasks(tasks);
    return {
      version: 1,
      id: s.runId,
      pipeline: s.pipeline,
      status: f.status === 'interrupted' ? 'cancelled' : f.status,
      startedAt: iso(s.at),
      endedAt: iso(f.at),
      durationMs: Math.round(f.durationMs),
      concurrency: s.concurrency,
      lowerBoundMs: Math.round(f.lowerBoundMs),
      predictedMakespanMs: Math.round(s.predictedMakespanMs),
      lowerBoundRatio: f.lowerBoundMs > 0 ? Math.round((f.durationMs / f.lowerBoundMs) * 1000) / 1000 : null,
      criticalPath: s.criticalPath,
      cache: {
        hits: hitsLocal + hitsRemote,
        hitsLocal,
        hitsRemote,
        misses,
        savedMs: tasks.reduce((n, t) => n + (t.savedMs ?? 0), 0),
      },
      tasks,
      warnings: this.#warnings,
    };
  }
}
