/** Builders for synthetic history records in unit tests. */
import type { RunRecord, TaskRecord } from '../../src/analyze/history.js';

export function task(
  taskId: string,
  startedAt: number,
  durationMs: number,
  extra: Partial<TaskRecord> = {},
): TaskRecord {
  return {
    taskId,
    status: 'success',
    cache: 'miss',
    hash: null,
    startedAt,
    endedAt: startedAt + durationMs,
    durationMs,
    predictedMs: null,
    exitCode: 0,
    cpuSeconds: null,
    peakRssBytes: null,
    attempts: 1,
    tags: [],
    cpuRequest: 1,
    memoryRequest: 0,
    savedMs: null,
    ...extra,
  };
}

export function run(
  id: string,
  startedAt: number,
  tasks: TaskRecord[],
  extra: Partial<RunRecord> = {},
): RunRecord {
  const end = Math.max(startedAt, ...tasks.map((t) => t.endedAt ?? startedAt));
  return {
    id,
    pipeline: 'p',
    status: 'success',
    startedAt,
    endedAt: end,
    durationMs: end - startedAt,
    concurrency: 2,
    capacityCpu: 2,
    lowerBoundMs: null,
    predictedMakespanMs: null,
    criticalPath: [],
    gitSha: null,
    gitCommitAt: null,
    tasks,
    ...extra,
  };
}
