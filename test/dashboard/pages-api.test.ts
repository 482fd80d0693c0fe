/**
 * The SLI, capacity, deploy-window, release and run-log reads of the dashboard, on SQLite and
 * PostgreSQL, through `app.request()` over a generated history: the charts agree with the
 * analyses they draw (budget and burn rate with errorBudget()/burnRate(), the curve with the
 * simulator and Kneedle), the heatmap covers the week, and logs never leave the run's folder.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GeneratedHistory,
  generatedPipelineYaml,
  seedDashboardHistory,
} from '../../bench/lib/dashboard-history.js';
import { parsePipeline } from '../../src/config/load.js';
import { createDashboardApp } from '../../src/dashboard/app.js';
import type { CapacityView } from '../../src/dashboard/capacity-view.js';
import type { Overview } from '../../src/dashboard/overview.js';
import type { ReleasesView } from '../../src/dashboard/releases-view.js';
import { LOG_CAP_BYTES, type LogFile, type LogText } from '../../src/dashboard/run-logs.js';
import type { SlisView } from '../../src/dashboard/slis-view.js';
import type { WindowsView } from '../../src/dashboard/windows-view.js';
import { runLogDir } from '../../src/state/paths.js';
import { openStore, type Store } from '../../src/store/store.js';
import { scratchPostgres } from '../helpers/postgres.js';

const postgresUrl = scratchPostgres('dashboard_pages');
const NOW = Date.UTC(2026, 10, 30, 12);
const ASSETS = { js: '', css: '' };

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as T;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`dashboard analysis pages on ${kind}`, () => {
    let store: Store | undefined;
    let dir: string;
    let gen: GeneratedHistory;
    let app: ReturnType<typeof createDashboardApp>;
    let bare: ReturnType<typeof createDashboardApp>;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-dash-pages-'));
      const url = kind === 'sqlite' ? path.join(dir, 'history.db') : await postgresUrl();
      if (!url) return;
      store = await openStore({ url, root: dir });
      gen = await seedDashboardHistory(store, { runs: 120, tasksPerRun: 10, deployments: 6, now: NOW });
      const file = path.join(dir, 'slipway.yml');
      const text = generatedPipelineYaml(gen);
      writeFileSync(file, text);
      const config = parsePipeline('slipway.yml', file, text);
      app = createDashboardApp({ store, assets: ASSETS, config, root: dir, now: () => NOW });
      bare = createDashboardApp({ store, assets: ASSETS, now: () => NOW });
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('draws each SLI with its budget, and budget and burn-rate charts that agree with it', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<SlisView>(app.request('/api/slis'));
      expect(v.slis.map((s) => s.name)).toEqual([
        'availability',
        'deploymentDurationP95',
        'resourceEfficiency',
        'deploymentFailureRate',
        'recoveryTime',
        'pipelineSuccessRate',
      ]);
      // Availability comes from the targets' health checks (the rolled-back deployments failed some).
      const avail = v.slis.find((s) => s.name === 'availability')!;
      expect(avail.samples).toBeGreaterThan(0);
      expect(avail.value).toBeLessThanOrEqual(1);
      expect(v.charts.map((c) => c.name)).toEqual(['availability', 'pipelineSuccessRate']);
      for (const c of v.charts) {
        // 30 days every 6 hours.
        expect(c.points).toHaveLength(120);
        const sli = v.slis.find((s) => s.name === c.name)!;
        const last = c.points.at(-1)!;
        expect(last.at).toBe(NOW);
        expect(last.events).toBe(sli.budget!.total);
        if (Number.isFinite(sli.budget!.remaining))
          expect(last.remaining).toBeCloseTo(Math.max(-1, sli.budget!.remaining), 9);
        // The 1-hour line ends where the page rule's long window stands.
        const hourRule = sli.alerts!.find((a) => a.longMs === 3_600_000);
        expect(last.burn[0]).toBeCloseTo(hourRule?.longBurn ?? 0, 9);
        expect(c.points.every((p, i) => i === 0 || p.at > c.points[i - 1]!.at)).toBe(true);
      }
      // The overview's SLO table counts the same health checks.
      const { overview } = await json<{ overview: Overview }>(app.request('/api/overview'));
      expect(overview.slis.find((s) => s.name === 'availability')!.value).toBe(avail.value);
      const runs = v.charts.find((c) => c.name === 'pipelineSuccessRate')!;
      // The generated history fails about 4% of runs against a 95% objective: the budget is used.
      expect(runs.points.at(-1)!.events).toBeGreaterThan(40);
    });

    it('simulates the what-if curve with its knee and cost, and projects growth', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<CapacityView>(app.request(`/api/capacity?pipeline=${gen.pipeline}&cost=0.1`));
      const cpus = v.curve.map((r) => r.cpus);
      expect(cpus[0]).toBe(1);
      expect(cpus.at(-1)).toBe(10);
      expect(cpus).toEqual([...cpus].sort((a, b) => a - b));
      for (let i = 1; i < v.curve.length; i++)
        expect(v.curve[i]!.makespanMs).toBeLessThanOrEqual(v.curve[i - 1]!.makespanMs);
      expect(v.curve.filter((r) => r.knee)).toHaveLength(1);
      for (const r of v.curve) {
        expect(r.costPerRun).toBeCloseTo(r.cpus * (r.makespanMs / 3_600_000) * 0.1, 9);
        expect(r.lowerBoundMs).toBeLessThanOrEqual(r.makespanMs);
      }
      // Five layers of a ~4 s task beside a ~1.5 s one: 1 CPU runs them in turn, 2 side by side.
      expect(v.curve.at(-1)!.makespanMs).toBeGreaterThan(15_000);
      expect(v.curve[0]!.makespanMs).toBeGreaterThan(v.curve.at(-1)!.makespanMs * 1.2);
      expect(v.curve[1]!.makespanMs).toBe(v.curve.at(-1)!.makespanMs);
      expect(v.growth.runs).toBe(120);
      expect(v.growth.needs[0]?.horizonDays).toBe(0);
      expect(v.growth.needs[0]?.costPerMonth).toBeGreaterThan(0);
      // Without the pipeline's slipway.yml there is no graph to simulate: said so.
      const b = await json<CapacityView>(bare.request('/api/capacity'));
      expect(b.curve).toEqual([]);
      expect(b.curveNote).toMatch(/slipway\.yml/);
      expect(b.growth.runs).toBe(120);
      expect((await app.request('/api/capacity?cost=-1')).status).toBe(400);
    });

    it('covers every hour of the week in the deploy-window heatmap', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<WindowsView>(app.request('/api/windows'));
      expect(v.hours).toHaveLength(168);
      expect(v.hours.map((h) => h.hourOfWeek)).toEqual(Array.from({ length: 168 }, (_, i) => i));
      expect(v.deployments).toBe(6);
      expect(v.hours.reduce((a, h) => a + h.samples, 0)).toBe(v.deployments + v.heavyRuns);
      const dep = (await json<{ deployments: { startedAt: number }[] }>(app.request('/api/deployments')))
        .deployments[0]!;
      const d = new Date(dep.startedAt);
      const how = ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
      expect(v.hours[how]!.deployments).toBeGreaterThanOrEqual(1);
      expect(v.recommended !== null || v.note !== null).toBe(true);
    });

    it('lists start-up time and memory per release, health per deployment and the rollbacks', async (ctx) => {
      if (!store) return ctx.skip();
      const v = await json<ReleasesView>(app.request('/api/releases'));
      expect(v.releases).toHaveLength(6);
      // Newest first; the generated start-up time grows 2% a release.
      expect(v.releases[0]!.release).toBe('rel-5');
      expect(v.releases[0]!.startupP50Ms).toBeGreaterThan(v.releases.at(-1)!.startupP50Ms!);
      expect(v.releases.every((r) => r.samples === 10 && r.rssP50Bytes! > 100 * 1024 * 1024)).toBe(true);
      expect(v.releases[0]!.version).toBe('1.5.0');
      const list = await json<{
        deployments: { id: string; status: string; health: { ok: number; failed: number } }[];
      }>(app.request('/api/deployments'));
      expect(v.rollbacks.map((r) => r.id).sort()).toEqual(
        list.deployments
          .filter((d) => d.status === 'rolled-back')
          .map((d) => d.id)
          .sort(),
      );
      for (const d of list.deployments) {
        expect(d.health.ok).toBeGreaterThan(0);
        expect(d.health.failed > 0).toBe(d.status === 'rolled-back');
      }
    });

    it('serves a run’s logs from its folder only, capped, and nothing else', async (ctx) => {
      if (!store) return ctx.skip();
      const id = gen.runIds[3]!;
      const logs = runLogDir(dir, id);
      mkdirSync(logs, { recursive: true });
      writeFileSync(path.join(logs, 'pkg00_L0.log'), 'compiling <script>alert(1)</script>\ndone\n');
      const lines = Math.ceil((LOG_CAP_BYTES * 2) / 100);
      writeFileSync(path.join(logs, 'big.log'), `${'x'.repeat(99)}\n`.repeat(lines));
      writeFileSync(path.join(dir, 'secret.log'), 'outside');
      symlinkSync(path.join(dir, 'secret.log'), path.join(logs, 'link.log'));
      const list = await json<{ logs: LogFile[] }>(app.request(`/api/runs/${id}/logs`));
      expect(list.logs.map((l) => l.name)).toEqual(['big.log', 'pkg00_L0.log']);
      const one = await json<LogText>(app.request(`/api/runs/${id}/logs/pkg00_L0.log`));
      expect(one.text).toBe('compiling <script>alert(1)</script>\ndone\n');
      expect(one.truncated).toBe(false);
      const big = await json<LogText>(app.request(`/api/runs/${id}/logs/big.log`));
      expect(big.truncated).toBe(true);
      expect(big.bytes).toBe(lines * 100);
      expect(big.text.length).toBeLessThanOrEqual(LOG_CAP_BYTES);
      expect(big.text.startsWith('x'.repeat(99))).toBe(true);
      for (const bad of [
        'link.log',
        '..%2F..%2Fsecret.log',
        '..%2Fsecret.log',
        '%2E%2E%2Fsecret.log',
        'secret.log',
        'nothing.log',
      ])
        expect((await app.request(`/api/runs/${id}/logs/${bad}`)).status, bad).toBe(404);
      // A run id that is not a stored run's, even one naming a real folder.
      mkdirSync(runLogDir(dir, 'not-a-run'), { recursive: true });
      expect((await app.request('/api/runs/not-a-run/logs')).status).toBe(404);
      expect((await app.request('/api/runs/..%2F..%2Fx/logs')).status).toBe(404);
      // Without a checkout to read from, a run has no logs rather than someone else's.
      expect((await json<{ logs: LogFile[] }>(bare.request(`/api/runs/${id}/logs`))).logs).toEqual([]);
    });
  });
}
