import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipeline } from '../../src/config/load.js';
import { EventStream, type RunEvent } from '../../src/events.js';
import { openStore, type Store } from '../../src/store/store.js';
import { attachStoreWriter } from '../../src/store/writer.js';
import { scratchPostgres } from '../helpers/postgres.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const postgresUrl = scratchPostgres('test');

const pipeline = parsePipeline(
  'slipway.yml',
  '/tmp/x/slipway.yml',
  'version: 1\nname: demo\ntasks:\n  a: { run: "true", tags: [build] }\n  b: { run: "true", needs: [a] }\n',
);

function emitRun(
  events: EventStream<RunEvent>,
  runId: string,
  at: number,
  durations: { a: number; b?: number },
) {
  events.emit({
    type: 'run-started',
    runId,
    pipeline: 'demo',
    at,
    tasks: [
      { id: 'a', predictedMs: 100, predictedStartMs: 0, cpu: 1, memory: 0 },
      { id: 'b', predictedMs: 100, predictedStartMs: 100, cpu: 1, memory: 0 },
    ],
    concurrency: 2,
    capacity: { slots: 2, cpu: 2, memory: 1e9 },
    predictedMakespanMs: 200,
    lowerBoundMs: 200,
    criticalPath: ['a', 'b'],
    argv: ['run'],
  });
  events.emit({ type: 'task-started', runId, taskId: 'a', at, attempt: 1, predictedMs: 100 });
  const fin = (taskId: string, startedAt: number, durationMs: number) =>
    events.emit({
      type: 'task-finished',
      runId,
      taskId,
      at: startedAt + durationMs,
      startedAt,
      status: 'success',
      cache: 'miss',
      hash: `h-${taskId}`,
      exitCode: 0,
      durationMs,
      predictedMs: 100,
      cpuSeconds: 0.5,
      peakRssBytes: 1_000_000,
      attempts: 1,
    });
  fin('a', at, durations.a);
  if (durations.b !== undefined) {
    fin('b', at + durations.a, durations.b);
    events.emit({
      type: 'run-finished',
      runId,
      at: at + durations.a + durations.b,
      status: 'success',
      durationMs: durations.a + durations.b,
      lowerBoundMs: durations.a + durations.b,
    });
  }
}

// The SQLite suite's folder, removed once its store is closed (the suite's own afterAll runs first).
const sqliteFolder = tempDirs('all');
const sqliteRoot = () => sqliteFolder('slipway-store-');

function suite(name: string, open: () => Promise<Store | undefined>) {
  describe(name, () => {
    let store: Store | undefined;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('records runs and task runs as events arrive, and queries them back', async (ctx) => {
      if (!store) return ctx.skip();
      const events = new EventStream<RunEvent>();
      const writer = attachStoreWriter(store, events, pipeline);
      emitRun(events, 'r1', 1_000, { a: 300, b: 500 });
      emitRun(events, 'r2', 5_000, { a: 320, b: 480 });
      await writer.flush();

      const runs = await store.runs.list({ pipeline: 'demo' });
      expect(runs.map((r) => r.id)).toEqual(['r2', 'r1']);
      expect(runs[0]).toMatchObject({
        status: 'success',
        duration_ms: 800,
        tasks_total: 2,
        tasks_succeeded: 2,
      });
      const rows = await store.runs.taskRuns('r1');
      expect(rows.map((r) => [r.task_id, r.status, r.duration_ms, r.hash])).toEqual([
        ['a', 'success', 300, 'h-a'],
        ['b', 'success', 500, 'h-b'],
      ]);
      expect(JSON.parse(rows[0]!.tags)).toEqual(['build']);
      const recent = await store.runs.recentExecutions(['a', 'b']);
      expect(recent.get('a')!.map((r) => r.duration_ms)).toEqual([320, 300]);
      expect(typeof recent.get('a')![0]!.started_at).toBe('number');
    });

    it('marks a run left running by a dead process as interrupted, keeping finished tasks', async (ctx) => {
      if (!store) return ctx.skip();
      const events = new EventStream<RunEvent>();
      const writer = attachStoreWriter(store, events, pipeline);
      emitRun(events, 'r3', 9_000, { a: 300 }); // b never finishes: the process "died"
      await writer.flush();
      const n = await store.runs.markAbandoned(os.hostname(), () => false);
      expect(n).toBe(1);
      const [latest] = await store.runs.list({ pipeline: 'demo', limit: 1 });
      expect(latest).toMatchObject({ id: 'r3', status: 'interrupted' });
      const rows = await store.runs.taskRuns('r3');
      expect(Object.fromEntries(rows.map((r) => [r.task_id, r.status]))).toEqual({
        a: 'success',
        b: 'interrupted',
      });
    });

    it('stores a failure as its value (JSON) beside its sentence', async (ctx) => {
      if (!store) return ctx.skip();
      const events = new EventStream<RunEvent>();
      const writer = attachStoreWriter(store, events, pipeline);
      emitRun(events, 'r4', 20_000, { a: 300 });
      events.emit({
        type: 'task-finished',
        runId: 'r4',
        taskId: 'b',
        at: 20_300,
        startedAt: 20_300,
        status: 'skipped',
        cache: 'disabled',
        exitCode: null,
        durationMs: 0,
        predictedMs: 100,
        cpuSeconds: 0,
        peakRssBytes: 0,
        attempts: 0,
        failure: { reason: 'dependency-failed', dependency: 'a' },
      });
      await writer.flush();
      const rows = new Map((await store.runs.taskRuns('r4')).map((r) => [r.task_id, r]));
      expect(rows.get('b')).toMatchObject({ status: 'skipped', reason: 'dependency "a" failed' });
      expect(JSON.parse(rows.get('b')!.failure!)).toEqual({ reason: 'dependency-failed', dependency: 'a' });
      expect(rows.get('a')).toMatchObject({ status: 'success', reason: null, failure: null });
    });
  });
}

suite('SQLite store', async () => openStore({ root: sqliteRoot() }));

suite('PostgreSQL store', async () => {
  const url = await postgresUrl();
  return url ? openStore({ root: os.tmpdir(), url }) : undefined;
});
