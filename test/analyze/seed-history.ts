/** Writes a synthetic history straight into a workspace's store (for tests of long or shaped histories). */
import type { HistoryBatch } from '../../src/store/history-batch.js';
import { openStore } from '../../src/store/store.js';

/** One run: its id, start and the duration of each task (run in sequence). */
export interface SeedRun {
  id: string;
  startedAt: number;
  tasks: Record<string, number>;
}

/** Writes the runs (all successful, no cache hits) into the SQLite store under `root`, in one batch. */
export async function seedHistory(root: string, pipeline: string, runs: readonly SeedRun[]): Promise<void> {
  const batch: HistoryBatch = { newRuns: [], changedRuns: [], taskRuns: [] };
  for (const r of runs) {
    const ids = Object.keys(r.tasks);
    const total = ids.reduce((n, id) => n + Math.round(r.tasks[id]!), 0);
    batch.newRuns.push({
      id: r.id,
      pipeline,
      status: 'success',
      started_at: r.startedAt,
      ended_at: r.startedAt + total,
      duration_ms: total,
      concurrency: 1,
      capacity_cpu: 1,
      lower_bound_ms: total,
      predicted_makespan_ms: total,
      critical_path: JSON.stringify(ids),
      git_sha: null,
      git_commit_at: null,
      argv: '["run"]',
      pid: 1,
      host: 'h',
      tasks_total: ids.length,
      tasks_succeeded: ids.length,
      tasks_failed: 0,
      tasks_skipped: 0,
      tasks_cached: 0,
    });
    let at = r.startedAt;
    for (const id of ids) {
      const d = Math.round(r.tasks[id]!);
      batch.taskRuns.push({
        run_id: r.id,
        task_id: id,
        status: 'success',
        cache: 'miss',
        hash: `${id}-${r.id}`,
        started_at: at,
        ended_at: at + d,
        duration_ms: d,
        predicted_ms: d,
        exit_code: 0,
        cpu_seconds: d / 1000,
        peak_rss_bytes: 1,
        attempts: 1,
        reason: null,
        tags: '[]',
        cpu_request: 1,
        memory_request: 0,
        saved_ms: null,
        failure: null,
      });
      at += d;
    }
  }
  const store = await openStore({ root });
  try {
    await store.runs.write(batch);
  } finally {
    await store.close();
  }
}
