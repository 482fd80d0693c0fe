/**
 * The dashboard's routes over a generated history, on SQLite and PostgreSQL, through
 * `app.request()` (no socket): security headers, the overview's windows, paging, a run's Gantt
 * rows, a task's change point, a deployment's waves, the token on acknowledgements, /metrics
 * counting each run once, and a live stream that follows a run another writer finishes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedHistory, seedDashboardHistory } from '../../bench/lib/dashboard-history.js';
import { createDashboardApp } from '../../src/dashboard/app.js';
import { DashboardMetrics } from '../../src/dashboard/metrics.js';
import type { Overview } from '../../src/dashboard/overview.js';
import { OverviewCache } from '../../src/dashboard/overview-cache.js';
import type { DeploymentView, RunHead, RunView, TaskView } from '../../src/dashboard/views.js';
import { openStore, type Store } from '../../src/store/store.js';
import { scratchPostgres } from '../helpers/postgres.js';

const postgresUrl = scratchPostgres('dashboard');
const NOW = Date.UTC(2026, 10, 30, 12);
const TOKEN = 'a-test-token-of-enough-length';
const ASSETS = { js: 'console.log("app")', css: 'body{}' };

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as T;
}

/** Reads SSE events from a streamed response until `until` accepts one. */
async function readEvents(
  res: Response,
  until: (event: string, data: unknown) => boolean,
): Promise<{ event: string; data: unknown }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const out: { event: string; data: unknown }[] = [];
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return out;
    buf += decoder.decode(value, { stream: true });
    let i = buf.indexOf('\n\n');
    while (i >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) {
        const parsed: unknown = JSON.parse(data);
        out.push({ event, data: parsed });
        if (until(event, parsed)) {
          await reader.cancel();
          return out;
        }
      }
      i = buf.indexOf('\n\n');
    }
  }
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`dashboard API on ${kind}`, () => {
    let store: Store | undefined;
    let dir: string;
    let gen: GeneratedHistory;
    let app: ReturnType<typeof createDashboardApp>;
    let writableApp: ReturnType<typeof createDashboardApp>;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-dash-'));
      const url = kind === 'sqlite' ? path.join(dir, 'history.db') : await postgresUrl();
      if (!url) return;
      store = await openStore({ url, root: dir });
      gen = await seedDashboardHistory(store, { runs: 120, tasksPerRun: 10, deployments: 6, now: NOW });
      const overviews = new OverviewCache(store, undefined, () => NOW);
      const metrics = new DashboardMetrics({ store, overviews });
      app = createDashboardApp({ store, assets: ASSETS, overviews, metrics, now: () => NOW, pollMs: 20 });
      writableApp = createDashboardApp({ store, assets: ASSETS, token: TOKEN, now: () => NOW, pollMs: 20 });
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('serves pages with a strict CSP and no inline script', async (ctx) => {
      if (!store) return ctx.skip();
      const res = await app.request('/runs/x');
      expect(res.status).toBe(200);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("default-src 'none'");
      expect(csp).not.toContain('unsafe-inline');
      const html = await res.text();
      expect(html).toMatch(/<script src="\/assets\/app\.js"/);
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect((await app.request('/assets/app.js')).headers.get('content-type')).toMatch(/javascript/);
    });

    it('compares the last 30 days with the 30 before', async (ctx) => {
      if (!store) return ctx.skip();
      const { overview } = await json<{ overview: Overview }>(app.request('/api/overview'));
      expect(overview.pipeline).toBe(gen.pipeline);
      // The history spans 60 days: every run falls in one of the two windows.
      expect(overview.current.runs + overview.previous.runs).toBe(120);
      expect(overview.current.runs).toBeGreaterThan(50);
      expect(overview.current.cacheHitRate).toBeGreaterThan(0.1);
      expect(overview.current.cacheHitRate).toBeLessThan(0.6);
      expect(overview.current.deployments + overview.previous.deployments).toBe(6);
      expect(overview.current.dora.deploymentFrequency.value).not.toBeNull();
      expect(overview.slis.map((s) => s.name)).toContain('availability');
      // The generated slowdown is detected and open.
      expect(overview.openRegressions.map((f) => f.subject)).toContain(gen.slowedTask);
      expect(overview.recommendations).toBeNull();
    });

    it('pages runs newest first without repeats', async (ctx) => {
      if (!store) return ctx.skip();
      const seen: string[] = [];
      let next: number | null = null;
      do {
        const q: string = next === null ? '' : `&before=${next}`;
        const page: { runs: RunHead[]; next: number | null } = await json(
          app.request(`/api/runs?limit=50${q}`),
        );
        seen.push(...page.runs.map((r) => r.id));
        next = page.next;
      } while (next !== null);
      expect(seen).toEqual([...gen.runIds].reverse());
      const failed = await json<{ runs: RunHead[] }>(app.request('/api/runs?status=failed&limit=500'));
      expect(failed.runs.every((r) => r.status === 'failed')).toBe(true);
      expect((await app.request('/api/runs?limit=0')).status).toBe(400);
    });

    it('gives a run one Gantt row per task with the critical path marked', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<RunView>(app.request(`/api/runs/${gen.runIds[7]}`));
      expect(v.tasks.map((t) => t.id).sort()).toEqual([...gen.taskIds].sort());
      expect(
        v.tasks
          .filter((t) => t.critical)
          .map((t) => t.id)
          .sort(),
      ).toEqual([...gen.criticalPath].sort());
      expect(v.run.lowerBoundMs).toBeGreaterThan(0);
      expect((await app.request('/api/runs/nope')).status).toBe(404);
    });

    it('finds the change point of the task that slowed down', async (ctx) => {
      if (!store) return ctx.skip();
      const q = `pipeline=${encodeURIComponent(gen.pipeline)}&task=${encodeURIComponent(gen.slowedTask)}`;
      const v = await json<TaskView>(app.request(`/api/task?${q}`));
      expect(v.points).toHaveLength(120);
      expect(v.changePoints.length).toBeGreaterThanOrEqual(1);
      const idx = gen.runIds.indexOf(gen.slowedFromRun);
      expect(
        v.changePoints.some((c) => Math.abs(gen.runIds.indexOf(c.runId) - idx) <= 2 && c.change > 0.3),
      ).toBe(true);
      expect(v.findings.some((f) => f.subject === gen.slowedTask)).toBe(true);
      expect((await app.request('/api/task?pipeline=x')).status).toBe(400);
    });

    it('shows a deployment by wave and region', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<DeploymentView>(app.request(`/api/deployments/${gen.deploymentIds[2]}`));
      expect(v.waves.map((w) => w.wave)).toEqual([0, 1, 2]);
      expect(v.waves[1]!.targets.map((t) => t.region)).toEqual(['eu-west', 'eu-west', 'us-east', 'us-east']);
      expect(v.waves[0]!.targets[0]!.phases.map((p) => p.name)).toEqual(['stage', 'activate', 'gate']);
      const list = await json<{ deployments: { id: string }[] }>(app.request('/api/deployments'));
      expect(list.deployments.map((d) => d.id)).toEqual([...gen.deploymentIds].reverse());
    });

    it('acknowledges a regression only with the token', async (ctx) => {
      if (!store) return ctx.skip();
      const { overview } = await json<{ overview: Overview }>(app.request('/api/overview'));
      const finding = overview.openRegressions[0]!;
      const body = JSON.stringify({
        pipeline: gen.pipeline,
        id: finding.id,
        note: 'expected: bigger test suite',
      });
      const post = (a: typeof app, auth?: string) =>
        a.request('/api/regressions/ack', {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        });
      expect((await post(app, `Bearer ${TOKEN}`)).status).toBe(403);
      expect((await post(writableApp)).status).toBe(401);
      expect((await post(writableApp, 'Bearer wrong-token-of-enough-length')).status).toBe(401);
      const ok = await json<{ finding: { acknowledged: { note: string } | null } }>(
        post(writableApp, `Bearer ${TOKEN}`),
      );
      expect(ok.finding.acknowledged?.note).toBe('expected: bigger test suite');
      const after = await json<{ overview: Overview }>(writableApp.request('/api/overview'));
      expect(after.overview.openRegressions.map((f) => f.id)).not.toContain(finding.id);
    });

    it('counts every finished run once in /metrics', async (ctx) => {
      if (!store) return ctx.skip();
      const scrape = async () => (await app.request('/metrics')).text();
      const first = await scrape();
      const count = (text: string, status: string) =>
        Number(
          new RegExp(
            `^slipway_runs_total\\{pipeline="${gen.pipeline}",status="${status}"\\} (\\d+)$`,
            'm',
          ).exec(text)?.[1] ?? 0,
        );
      expect(count(first, 'success') + count(first, 'failed')).toBe(120);
      expect(first).toMatch(
        /^slipway_task_duration_seconds_count\{pipeline="generated",task="pkg00#L0"\} 120$/m,
      );
      expect(first).toMatch(/^slipway_deployments_total\{environment="production",status="success"\} \d+$/m);
      expect(first).toMatch(
        /^slipway_error_budget_remaining_ratio\{pipeline="generated",sli="availability"\} /m,
      );
      const second = await scrape();
      expect(count(second, 'success') + count(second, 'failed')).toBe(120);
    });

    it('streams a deployment whose waves fill in until it ends', async (ctx) => {
      if (!store) return ctx.skip();
      const s = store;
      const id = `live-dep-${kind}`;
      const deployment = {
        id,
        kind: 'deploy',
        environment: 'staging',
        version: '2.0',
        release: 'r-live',
        status: 'running',
        started_at: NOW,
        ended_at: null,
        duration_ms: null,
        git_sha: null,
        git_commit_at: null,
        artifact_bytes: 1000,
        bytes_sent: 0,
        origin_egress_bytes: 0,
        chunks_total: 10,
        chunks_reused: 0,
        relay: 0,
        reason: null,
        owner_pid: null,
        owner_host: null,
        owner_start: null,
      };
      const target = (t: string, wave: number) => ({
        deployment_id: id,
        target: t,
        region: 'eu',
        agent: '',
        wave,
        status: 'pending',
        previous_release: null,
        staged_ms: null,
        activated_at: null,
        bytes_sent: 0,
        chunks_reused: 0,
        chunks_fetched: 0,
        health_ok: 0,
        health_failed: 0,
        health_inconclusive: 0,
        health_errors: 0,
        reason: null,
        phases: '{}',
      });
      await s.deployments.start(deployment, [target('a', 0), target('b', 1)]);
      const res = await app.request(`/api/deployments/${id}/live`);
      let step = 0;
      const events = await readEvents(res, (event) => {
        // The deploying process activates wave 0, then wave 1, then ends.
        const next = [
          () =>
            s.deployments.saveTarget({
              ...target('a', 0),
              status: 'active',
              phases: JSON.stringify({ stage: { at: NOW, ms: 5 } }),
            }),
          () => s.deployments.saveTarget({ ...target('b', 1), status: 'active' }),
          () =>
            s.deployments.finish(id, {
              status: 'success',
              ended_at: NOW + 10,
              duration_ms: 10,
              reason: null,
              bytes_sent: 0,
              origin_egress_bytes: 0,
              chunks_reused: 0,
            }),
        ][step++];
        if (next) void next();
        return event === 'done';
      });
      const views = events.map((e) => e.data as DeploymentView);
      expect(events.at(-1)!.event).toBe('done');
      expect(views.at(-1)!.deployment.status).toBe('success');
      // Every state on the way was seen, in order: nothing active, wave 0 active, both active.
      const active = views.map(
        (v) => v.waves.flatMap((w) => w.targets).filter((t) => t.status === 'active').length,
      );
      expect(active.slice(0, 3)).toEqual([0, 1, 2]);
      const live = await json<{ overview: unknown }>(app.request('/api/deployments'));
      expect(JSON.stringify(live)).toContain(id);
    });

    it('streams a run another writer is running until it finishes', async (ctx) => {
      if (!store) return ctx.skip();
      const s = store;
      const id = `live-${kind}`;
      const base = {
        pipeline: gen.pipeline,
        concurrency: 2,
        capacity_cpu: 2,
        lower_bound_ms: 100,
        predicted_makespan_ms: 200,
        critical_path: '["x"]',
        git_sha: null,
        git_commit_at: null,
        argv: '[]',
        pid: 1,
        host: 'test',
        tasks_total: 1,
        tasks_succeeded: 0,
        tasks_failed: 0,
        tasks_skipped: 0,
        tasks_cached: 0,
      };
      const task = {
        run_id: id,
        task_id: 'x',
        cache: null,
        hash: null,
        ended_at: null,
        duration_ms: null,
        predicted_ms: 100,
        exit_code: null,
        cpu_seconds: null,
        peak_rss_bytes: null,
        attempts: 1,
        reason: null,
        failure: null,
        tags: '[]',
        cpu_request: 1,
        memory_request: 0,
        saved_ms: null,
      };
      const running = {
        ...base,
        id,
        status: 'running' as const,
        started_at: NOW,
        ended_at: null,
        duration_ms: null,
      };
      await s.runs.write({
        newRuns: [running],
        changedRuns: [],
        taskRuns: [{ ...task, status: 'running', started_at: NOW }],
      });
      const res = await app.request(`/api/runs/${id}/live`);
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      let finished = false;
      const events = await readEvents(res, (event, data) => {
        const v = data as RunView;
        if (!finished && v.tasks[0]?.status === 'running') {
          finished = true;
          // The other writer finishes the task and the run.
          void s.runs.write({
            newRuns: [],
            changedRuns: [
              { ...running, status: 'success', ended_at: NOW + 150, duration_ms: 150, tasks_succeeded: 1 },
            ],
            taskRuns: [
              {
                ...task,
                status: 'success',
                cache: 'miss',
                started_at: NOW,
                ended_at: NOW + 150,
                duration_ms: 150,
              },
            ],
          });
        }
        return event === 'done';
      });
      expect(events[0]!.event).toBe('update');
      const last = events.at(-1)!;
      expect(last.event).toBe('done');
      expect((last.data as RunView).run.status).toBe('success');
      expect((last.data as RunView).tasks[0]!.durationMs).toBe(150);
    });
  });
}
