/** Writes runs and task runs to the store as events arrive, so a crash loses at most the task in flight. */
import os from 'node:os';
import type { Pipeline } from '../config/types.js';
import type { EventStream, RunEvent } from '../events.js';
import type { Store } from './store.js';

export interface StoreWriter {
  /** Resolves when every write so far has been committed; rejects with the first write error. */
  flush(): Promise<void>;
  unsubscribe(): void;
}

/** Subscribes a writer; writes are serialised so rows appear in event order. */
export function attachStoreWriter(
  store: Store,
  events: EventStream<RunEvent>,
  pipeline: Pipeline,
): StoreWriter {
  const db = store.db;
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;
  const enqueue = (fn: () => Promise<unknown>) => {
    chain = chain.then(fn).then(
      () => undefined,
      (e) => {
        failure ??= e;
      },
    );
  };
  const countsByRun = new Map<
    string,
    { succeeded: number; failed: number; skipped: number; cached: number }
  >();

  const unsubscribe = events.subscribe((e) => {
    switch (e.type) {
      case 'run-started':
        enqueue(() =>
          db.transaction().execute(async (tx) => {
            await tx
              .insertInto('runs')
              .values({
                id: e.runId,
                pipeline: e.pipeline,
                status: 'running',
                started_at: e.at,
                ended_at: null,
                duration_ms: null,
                concurrency: e.concurrency,
                capacity_cpu: e.capacity.cpu,
                lower_bound_ms: e.lowerBoundMs,
                predicted_makespan_ms: e.predictedMakespanMs,
                critical_path: JSON.stringify(e.criticalPath),
                git_sha: e.gitSha ?? null,
                git_commit_at: e.gitCommitAt ?? null,
                argv: JSON.stringify(e.argv),
                pid: process.pid,
                host: os.hostname(),
                tasks_total: e.tasks.length,
                tasks_succeeded: 0,
                tasks_failed: 0,
                tasks_skipped: 0,
                tasks_cached: 0,
              })
              .execute();
            if (!e.tasks.length) return;
            const rows = e.tasks.map((t) => ({
              run_id: e.runId,
              task_id: t.id,
              status: 'pending',
              cache: null,
              hash: null,
              started_at: null,
              ended_at: null,
              duration_ms: null,
              predicted_ms: t.predictedMs,
              exit_code: null,
              cpu_seconds: null,
              peak_rss_bytes: null,
              attempts: 0,
              reason: null,
              tags: JSON.stringify(pipeline.tasks.get(t.id)?.tags ?? []),
              cpu_request: t.cpu,
              memory_request: t.memory,
              saved_ms: null,
            }));
            for (let i = 0; i < rows.length; i += 200)
              await tx
                .insertInto('task_runs')
                .values(rows.slice(i, i + 200))
                .execute();
          }),
        );
        break;
      case 'task-started':
        enqueue(() =>
          db
            .updateTable('task_runs')
            .set({ status: 'running', started_at: e.at, attempts: e.attempt })
            .where('run_id', '=', e.runId)
            .where('task_id', '=', e.taskId)
            .execute(),
        );
        break;
      case 'cache-hit':
        enqueue(() =>
          db
            .updateTable('task_runs')
            .set({ saved_ms: e.savedMs })
            .where('run_id', '=', e.runId)
            .where('task_id', '=', e.taskId)
            .execute(),
        );
        break;
      case 'task-finished': {
        const counts = countsByRun.get(e.runId) ?? { succeeded: 0, failed: 0, skipped: 0, cached: 0 };
        countsByRun.set(e.runId, counts);
        if (e.status === 'success') counts.succeeded++;
        else if (e.status === 'failed') counts.failed++;
        else counts.skipped++;
        if (e.cache === 'hit-local' || e.cache === 'hit-remote') counts.cached++;
        const c = { ...counts };
        enqueue(() =>
          db.transaction().execute(async (tx) => {
            await tx
              .updateTable('task_runs')
              .set({
                status: e.status,
                cache: e.cache,
                hash: e.hash ?? null,
                started_at: e.startedAt,
                ended_at: e.at,
                duration_ms: e.durationMs,
                predicted_ms: e.predictedMs,
                exit_code: e.exitCode,
                cpu_seconds: e.cpuSeconds,
                peak_rss_bytes: e.peakRssBytes,
                attempts: e.attempts,
                reason: e.reason ?? null,
              })
              .where('run_id', '=', e.runId)
              .where('task_id', '=', e.taskId)
              .execute();
            await tx
              .updateTable('runs')
              .set({
                tasks_succeeded: c.succeeded,
                tasks_failed: c.failed,
                tasks_skipped: c.skipped,
                tasks_cached: c.cached,
              })
              .where('id', '=', e.runId)
              .execute();
          }),
        );
        break;
      }
      case 'run-finished':
        enqueue(() =>
          db
            .updateTable('runs')
            .set({
              status: e.status,
              ended_at: e.at,
              duration_ms: e.durationMs,
              lower_bound_ms: e.lowerBoundMs,
            })
            .where('id', '=', e.runId)
            .execute(),
        );
        break;
      default:
        break;
    }
  });

  return {
    flush: async () => {
      await chain;
      if (failure) throw failure;
    },
    unsubscribe,
  };
}
