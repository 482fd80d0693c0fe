import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledge, listFindings, syncFindings } from '../../src/analyze/findings-store.js';
import { loadHistory } from '../../src/analyze/history.js';
import { mulberry32, normal } from '../../src/analyze/random.js';
import { scanRegressions } from '../../src/analyze/regressions.js';
import { buildReport } from '../../src/analyze/report.js';
import { parsePipeline } from '../../src/config/load.js';
import type { CacheOutcome, TaskStatus } from '../../src/events.js';
import type {
  DeploymentsTable,
  DeploymentTargetsTable,
  RunsTable,
  TaskRunsTable,
} from '../../src/store/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { scratchPostgres } from '../helpers/postgres.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const postgresUrl = scratchPostgres('analytics');

const pipeline = parsePipeline(
  'slipway.yml',
  '/tmp/analytics/slipway.yml',
  'version: 1\nname: analytics-demo\ntasks:\n  build: { run: "true", tags: [build] }\n  ship: { run: "true", needs: [build], tags: [deploy], cache: false }\n',
);

const T0 = 1_700_000_000_000;

/** 40 runs; build gets 25% slower from run 25; run 30's ship fails. */
async function seed(store: Store): Promise<void> {
  const g = normal(mulberry32(7));
  for (let i = 0; i < 40; i++) {
    const at = T0 + i * 3_600_000;
    // Whole milliseconds: timestamps are bigint columns.
    const build = Math.round(1000 * (i >= 25 ? 1.25 : 1) + 10 * g());
    const ship = Math.round(500 + 10 * g());
    const failed = i === 30;
    const run: RunsTable = {
      id: `run${String(i).padStart(2, '0')}`,
      pipeline: 'analytics-demo',
      status: failed ? 'failed' : 'success',
      started_at: at,
      ended_at: at + build + ship,
      duration_ms: build + ship,
      concurrency: 2,
      capacity_cpu: 2,
      lower_bound_ms: build + ship,
      predicted_makespan_ms: build + ship,
      critical_path: '["build","ship"]',
      git_sha: `sha${i}`,
      git_commit_at: at - 600_000,
      argv: '["run"]',
      pid: 1,
      host: 'h',
      tasks_total: 2,
      tasks_succeeded: failed ? 1 : 2,
      tasks_failed: failed ? 1 : 0,
      tasks_skipped: 0,
      tasks_cached: 0,
    };
    const tr = (
      task: string,
      start: number,
      dur: number,
      status: TaskStatus,
      tags: string,
    ): TaskRunsTable => ({
      run_id: `run${String(i).padStart(2, '0')}`,
      task_id: task,
      status,
      cache: (task === 'ship' ? 'disabled' : 'miss') as CacheOutcome,
      hash: `${task}${i}`,
      started_at: start,
      ended_at: start + dur,
      duration_ms: dur,
      predicted_ms: dur,
      exit_code: status === 'success' ? 0 : 1,
      cpu_seconds: dur / 2000,
      peak_rss_bytes: 50_000_000,
      attempts: 1,
      reason: null,
      failure: null,
      tags,
      cpu_request: 1,
      memory_request: 0,
      saved_ms: null,
    });
    await store.runs.write({
      newRuns: [run],
      changedRuns: [],
      taskRuns: [
        tr('build', at, build, 'success', '["build"]'),
        tr('ship', at + build, ship, failed ? 'failed' : 'success', '["deploy"]'),
      ],
    });
  }
}

// The SQLite suite's folder, removed once its store is closed (the suite's own afterAll runs first).
const sqliteFolder = tempDirs('all');
const sqliteRoot = () => sqliteFolder('slipway-analytics-');

function suite(name: string, open: () => Promise<Store | undefined>) {
  describe(name, () => {
    let store: Store | undefined;
    beforeAll(async () => {
      store = await open();
      if (store) await seed(store);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('loads runs oldest first and infers deployments from deploy-tagged tasks', async (ctx) => {
      if (!store) return ctx.skip();
      const h = await loadHistory(store, { pipeline: 'analytics-demo' });
      expect(h.runs).toHaveLength(40);
      expect(h.runs[0]!.id).toBe('run00');
      expect(h.runs[0]!.tasks.map((t) => t.taskId)).toEqual(['build', 'ship']);
      expect(h.runs[0]!.tasks[0]!.tags).toEqual(['build']);
      // The deploy feature's table exists but holds nothing of ours yet: deployments come from runs.
      expect(h.deployments).toHaveLength(40);
      expect(h.deployments.filter((d) => d.status === 'failed').map((d) => d.id)).toEqual(['run30']);
      expect(h.deployments[0]!.source).toBe('run');
    });

    it('prefers recorded deployments once there are some', async (ctx) => {
      if (!store) return ctx.skip();
      const dep = (id: string, at: number, status: string, kind = 'deploy'): DeploymentsTable => ({
        id,
        kind,
        environment: 'analytics-prod',
        version: id,
        release: id,
        status,
        started_at: at,
        ended_at: at + 60_000,
        duration_ms: 60_000,
        git_sha: null,
        git_commit_at: at - 3_600_000,
        artifact_bytes: 1000,
        bytes_sent: 100,
        origin_egress_bytes: 0,
        chunks_total: 0,
        chunks_reused: 0,
        relay: 0,
        reason: null,
        owner_pid: null,
        owner_host: null,
        owner_start: null,
      });
      const target: DeploymentTargetsTable = {
        deployment_id: 'an-d1',
        target: 't1',
        region: 'eu',
        agent: '',
        wave: 0,
        status: 'active',
        previous_release: null,
        staged_ms: null,
        activated_at: null,
        bytes_sent: 0,
        chunks_reused: 0,
        chunks_fetched: 0,
        health_ok: 9,
        health_failed: 1,
        health_inconclusive: 0,
        health_errors: 0,
        reason: null,
        phases: '{}',
      };
      await store.deployments.start(dep('an-d1', T0, 'success'), [target]);
      await store.deployments.start(dep('an-d2', T0 + 7_200_000, 'failed'), []);
      await store.deployments.start(dep('an-d3', T0 + 7_500_000, 'success', 'rollback'), []);
      const h = await loadHistory(store, { pipeline: 'analytics-demo' });
      const mine = h.deployments.filter((d) => d.id.startsWith('an-'));
      expect(mine.map((d) => [d.id, d.status, d.kind ?? 'deploy'])).toEqual([
        ['an-d1', 'success', 'deploy'],
        ['an-d2', 'failed', 'deploy'],
        ['an-d3', 'success', 'rollback'],
      ]);
      expect(mine[0]!.healthOk).toBe(9);
      expect(mine[0]!.healthFailed).toBe(1);
      expect(mine[0]!.source).toBe('deployments');
    });

    it('stores findings with ids that survive re-detection, and acknowledgements', async (ctx) => {
      if (!store) return ctx.skip();
      const h = await loadHistory(store, { pipeline: 'analytics-demo' });
      const first = await syncFindings(store, 'analytics-demo', scanRegressions(h.runs), T0);
      const build = first.find((f) => f.subject === 'build')!;
      expect(build.runId).toBe('run25');
      expect(build.open).toBe(true);
      // Detect again on one run fewer: same finding, same id.
      const again = await syncFindings(store, 'analytics-demo', scanRegressions(h.runs.slice(0, 39)), T0 + 1);
      expect(again.find((f) => f.subject === 'build')!.id).toBe(build.id);
      const [res] = await acknowledge(store, 'analytics-demo', [build.id], {
        by: 'me',
        note: 'expected',
        now: T0 + 2,
      });
      expect(res!.ok).toBe(true);
      const after = (await listFindings(store, 'analytics-demo')).find((f) => f.id === build.id)!;
      expect(after.open).toBe(false);
      expect(after.acknowledged).toEqual({ at: T0 + 2, by: 'me', note: 'expected' });
      const [bad] = await acknowledge(store, 'analytics-demo', ['rnothere'], {
        by: null,
        note: null,
        now: 0,
      });
      expect(bad!.ok).toBe(false);
      // A history without the change retires the finding.
      const retired = await syncFindings(
        store,
        'analytics-demo',
        scanRegressions(h.runs.slice(0, 20)),
        T0 + 3,
      );
      expect(retired.find((f) => f.id === build.id)!.active).toBe(false);
    });

    it('builds the full report', async (ctx) => {
      if (!store) return ctx.skip();
      const r = await buildReport(store, pipeline, { now: T0 + 41 * 3_600_000 });
      expect(r.window.runs).toBe(40);
      expect(r.metrics.pipelineMetrics.byTag.build!.count).toBe(39);
      expect(r.regressions.findings.some((f) => f.subject === 'build' && f.runId === 'run25')).toBe(true);
      expect(r.slis.map((s) => s.name)).toEqual([
        'availability',
        'deploymentDurationP95',
        'resourceEfficiency',
        'deploymentFailureRate',
        'recoveryTime',
        'pipelineSuccessRate',
      ]);
      expect(r.dora.source).toBe('deployments');
      expect(r.latestRun!.id).toBe('run39');
      expect(r.runs).toHaveLength(40);
      expect(r.runs[0]!.byTagMs.build).toBeGreaterThan(900);
      expect(r.runs[0]!.parallelEfficiency).toBe(1);
      expect(JSON.parse(JSON.stringify(r)).version).toBe(1);
    });
  });
}

suite('SQLite analytics', async () => openStore({ root: sqliteRoot() }));

suite('PostgreSQL analytics', async () => {
  const url = await postgresUrl();
  return url ? openStore({ root: os.tmpdir(), url }) : undefined;
});
