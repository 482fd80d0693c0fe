import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployEvent } from '../../src/deploy/events.js';
import { DeployRecorder, deploymentEnded } from '../../src/deploy/records.js';
import { EventStream } from '../../src/events.js';
import type { RunsTable } from '../../src/store/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { scratchPostgres } from '../helpers/postgres.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const postgresUrl = scratchPostgres('queries');

function run(id: string, status: RunsTable['status'], pid: number): RunsTable {
  return {
    id,
    pipeline: 'q',
    status,
    started_at: 1,
    ended_at: null,
    duration_ms: null,
    concurrency: 1,
    capacity_cpu: 1,
    lower_bound_ms: null,
    predicted_makespan_ms: null,
    critical_path: '[]',
    git_sha: null,
    git_commit_at: null,
    argv: '[]',
    pid,
    host: 'queries-host',
    tasks_total: 0,
    tasks_succeeded: 0,
    tasks_failed: 0,
    tasks_skipped: 0,
    tasks_cached: 0,
  };
}

// The SQLite suite's folder, removed once its store is closed (the suite's own afterAll runs first).
const sqliteFolder = tempDirs('all');
const sqliteRoot = () => sqliteFolder('slipway-queries-');

function suite(name: string, open: () => Promise<Store | undefined>) {
  describe(name, () => {
    let store: Store | undefined;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    it('reads back a deployment as the recorder wrote it from its events', async (ctx) => {
      if (!store) return ctx.skip();
      const events = new EventStream<DeployEvent>();
      const recorder = new DeployRecorder(store.deployments, events);
      const id = 'dq-1';
      events.emit({
        type: 'deploy-started',
        deploymentId: id,
        kind: 'deploy',
        environment: 'qa',
        version: 'v7',
        release: 'v7-abc',
        at: 1_000,
        artifactBytes: 4096,
        files: 3,
        chunksTotal: 8,
        chunkMs: 1,
        relay: false,
        waves: [['eu'], ['us']],
        targets: [
          { target: 'us-1', region: 'us', wave: 1, agent: 'http://127.0.0.1:2' },
          { target: 'eu-1', region: 'eu', wave: 0, agent: 'http://127.0.0.1:1' },
        ],
      });
      expect(await recorder.flush()).toEqual([]);
      expect(await store.deployments.statusOf(id)).toBe('running');
      expect(await deploymentEnded(store, id)).toBe(false);
      events.emit({
        type: 'target-staged',
        deploymentId: id,
        target: 'eu-1',
        at: 1_500,
        stagedMs: 400,
        bytesSent: 1000,
        chunksReused: 5,
        chunksFetched: 3,
        alreadyStaged: false,
      });
      events.emit({
        type: 'target-activated',
        deploymentId: id,
        target: 'eu-1',
        at: 1_600,
        activateMs: 20,
        previous: null,
      });
      events.emit({
        type: 'target-failed',
        deploymentId: id,
        target: 'us-1',
        at: 1_700,
        phase: 'stage',
        reason: 'agent unreachable',
      });
      events.emit({
        type: 'deploy-finished',
        deploymentId: id,
        at: 2_000,
        status: 'failed',
        durationMs: 1_000,
        reason: 'wave 1 failed',
        bytesSent: 1000,
        originEgressBytes: 1000,
      });
      expect(await recorder.flush()).toEqual([]);

      const [d] = await store.deployments.list({ environment: 'qa' });
      expect(d).toMatchObject({
        id,
        status: 'failed',
        ended_at: 2_000,
        reason: 'wave 1 failed',
        chunks_reused: 5,
        artifact_bytes: 4096,
      });
      expect(await deploymentEnded(store, id)).toBe(true);
      expect(await deploymentEnded(store, 'never-recorded')).toBe(false);
      const targets = await store.deployments.targets(id);
      expect(targets.map((t) => [t.target, t.wave, t.status])).toEqual([
        ['eu-1', 0, 'active'],
        ['us-1', 1, 'stage-failed'],
      ]);
      expect(JSON.parse(targets[0]!.phases)).toMatchObject({ stage: { ms: 400 }, activate: { ms: 20 } });
      expect((await store.deployments.ended('qa', 10)).map((r) => r.id)).toEqual([id]);
      expect((await store.deployments.running('qa')).map((r) => r.id)).toEqual([]);
    });

    it('marks a deployment interrupted only while it is still running', async (ctx) => {
      if (!store) return ctx.skip();
      const events = new EventStream<DeployEvent>();
      const recorder = new DeployRecorder(store.deployments, events);
      for (const id of ['di-1', 'di-2']) {
        events.emit({
          type: 'deploy-started',
          deploymentId: id,
          kind: 'deploy',
          environment: 'int',
          version: id,
          release: `${id}-r`,
          at: id === 'di-1' ? 10 : 20,
          artifactBytes: 1,
          files: 1,
          chunksTotal: 1,
          chunkMs: 0,
          relay: false,
          waves: [],
          targets: [],
        });
      }
      // di-2 ends after the caller decided it was dead: its own ending must stay.
      events.emit({
        type: 'deploy-finished',
        deploymentId: 'di-2',
        at: 30,
        status: 'success',
        durationMs: 10,
        bytesSent: 0,
        originEgressBytes: 0,
      });
      expect(await recorder.flush()).toEqual([]);
      await store.deployments.interrupt([
        { id: 'di-1', reason: 'gone', ended_at: 40 },
        { id: 'di-2', reason: 'gone', ended_at: 40 },
      ]);
      const rows = await store.deployments.list({ environment: 'int' });
      expect(rows.map((r) => [r.id, r.status, r.reason])).toEqual([
        ['di-2', 'success', null],
        ['di-1', 'interrupted', 'gone'],
      ]);
    });

    it('renews and releases a lease only for its holder', async (ctx) => {
      if (!store) return ctx.skip();
      const row = {
        environment: 'lq',
        deployment_id: 'holder',
        owner_pid: 1,
        owner_host: 'h',
        owner_start: '',
        acquired_at: 1,
        expires_at: 100,
      };
      await store.leases.insertIfAbsent(row);
      await store.leases.insertIfAbsent({ ...row, deployment_id: 'second' });
      expect((await store.leases.read('lq'))?.deployment_id).toBe('holder');
      await store.leases.renew({ environment: 'lq', deployment_id: 'second' }, 999);
      await store.leases.takeOver({ ...row, deployment_id: 'third' }, 'second');
      await store.leases.release({ environment: 'lq', deployment_id: 'second' });
      expect(await store.leases.read('lq')).toMatchObject({ deployment_id: 'holder', expires_at: 100 });
      await store.leases.renew({ environment: 'lq', deployment_id: 'holder' }, 500);
      expect((await store.leases.read('lq'))?.expires_at).toBe(500);
      await store.leases.takeOver({ ...row, deployment_id: 'third' }, 'holder');
      expect((await store.leases.read('lq'))?.deployment_id).toBe('third');
      await store.leases.release({ environment: 'lq', deployment_id: 'third' });
      expect(await store.leases.read('lq')).toBeUndefined();
    });

    it('marks abandoned only runs still running on this host whose process is gone', async (ctx) => {
      if (!store) return ctx.skip();
      await store.runs.write({
        newRuns: [
          run('ra-dead', 'running', 11),
          run('ra-live', 'running', 12),
          run('ra-done', 'success', 13),
        ],
        changedRuns: [],
        taskRuns: [],
      });
      const n = await store.runs.markAbandoned('queries-host', (pid) => pid === 12);
      expect(n).toBe(1);
      const status = new Map((await store.runs.list({ pipeline: 'q' })).map((r) => [r.id, r.status]));
      expect(Object.fromEntries(status)).toEqual({
        'ra-dead': 'interrupted',
        'ra-live': 'running',
        'ra-done': 'success',
      });
      expect(await store.runs.markAbandoned('other-host', () => false)).toBe(0);
    });

    it("reads back a pipeline's queue samples oldest first, across runs, since a time", async (ctx) => {
      if (!store) return ctx.skip();
      const other = { ...run('qs-other', 'success', 23), pipeline: 'elsewhere' };
      await store.runs.write({
        newRuns: [run('qs-1', 'success', 21), run('qs-2', 'success', 22), other],
        changedRuns: [],
        taskRuns: [],
      });
      await store.queueSamples.insert('qs-2', [{ at: 5_000_000_000_002, waiting: 7, active: 2 }]);
      await store.queueSamples.insert('qs-1', [
        { at: 5_000_000_000_000, waiting: 3, active: 1 },
        { at: 5_000_000_000_003, waiting: 0, active: 0 },
      ]);
      await store.queueSamples.insert('qs-other', [{ at: 5_000_000_000_001, waiting: 9, active: 9 }]);
      // The same run and time again: ignored, not an error.
      await store.queueSamples.insert('qs-1', [{ at: 5_000_000_000_000, waiting: 99, active: 99 }]);
      expect(await store.queueSamples.ofPipeline('q', 5_000_000_000_000)).toEqual([
        { runId: 'qs-1', at: 5_000_000_000_000, waiting: 3, active: 1 },
        { runId: 'qs-2', at: 5_000_000_000_002, waiting: 7, active: 2 },
        { runId: 'qs-1', at: 5_000_000_000_003, waiting: 0, active: 0 },
      ]);
      expect((await store.queueSamples.ofPipeline('q', 5_000_000_000_003)).map((s) => s.at)).toEqual([
        5_000_000_000_003,
      ]);
    });
  });
}

suite('SQLite', async () => openStore({ root: sqliteRoot() }));
suite('PostgreSQL', async () => {
  const url = await postgresUrl();
  return url ? openStore({ root: os.tmpdir(), url }) : undefined;
});
