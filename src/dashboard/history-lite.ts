/**
 * Runs as growth and deploy-window analysis read them, from one aggregate query: each run's
 * tasks are folded into one record carrying the run's CPU seconds, which is all those analyses
 * read of tasks (a sum of `cpuSeconds`, and whether any was measured).
 */
import type { RunRecord, TaskRecord } from '../analyze/history.js';
import type { RunCpuTotal } from '../store/dashboard-queries.js';

export function runRecordsOf(pipeline: string, rows: readonly RunCpuTotal[]): RunRecord[] {
  return rows.map((r) => ({
    id: r.id,
    pipeline,
    status: r.status,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    durationMs: r.duration_ms,
    concurrency: r.concurrency,
    capacityCpu: r.capacity_cpu,
    lowerBoundMs: null,
    predictedMakespanMs: null,
    criticalPath: [],
    gitSha: null,
    gitCommitAt: null,
    tasks:
      r.cpu_seconds === null
        ? []
        : [
            {
              taskId: '(all tasks)',
              status: 'success',
              cache: null,
              hash: null,
              startedAt: r.started_at,
              endedAt: r.ended_at,
              durationMs: r.duration_ms,
              predictedMs: null,
              exitCode: null,
              cpuSeconds: r.cpu_seconds,
              peakRssBytes: null,
              attempts: 1,
              tags: [],
              cpuRequest: null,
              memoryRequest: null,
              savedMs: null,
            } satisfies TaskRecord,
          ],
  }));
}
