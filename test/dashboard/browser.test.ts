/**
 * The dashboard in Chromium over a generated history: the overview renders its summary, a run's
 * Gantt has one bar per task and marks the critical path, a task page shows its change point, a
 * deployment page shows its waves, and a run started during the test appears and completes on
 * screen. Screenshots land in test-artifacts/. The page must also run under its own strict CSP:
 * any CSP violation or script error fails the test.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type GeneratedHistory,
  generatedPipelineYaml,
  seedDashboardHistory,
} from '../../bench/lib/dashboard-history.js';
import type { CapacityView } from '../../src/dashboard/capacity-view.js';
import type { WindowsView } from '../../src/dashboard/windows-view.js';
import { openStore } from '../../src/store/store.js';
import { ARTIFACTS, launchChromium } from '../helpers/chromium.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';
import { type Served, startServe } from '../helpers/serve.js';

const LONG = 60_000;

describe('dashboard in Chromium', () => {
  let browser: Browser | undefined;
  let served: Served | undefined;
  let w: Workspace;
  let gen: GeneratedHistory;
  const problems: string[] = [];
  let liveRunId: string | undefined;

  beforeAll(async () => {
    browser = await launchChromium('dashboard');
    if (!browser) return;
    w = workspace(
      pipelineYaml(
        {
          compile: { run: 'echo compiling the sources; sleep 1' },
          lint: { run: 'echo linting; sleep 1' },
          test: { run: 'echo testing; sleep 1.5', needs: ['compile'] },
        },
        { name: 'live' },
      ),
    );
    const store = await openStore({ root: w.dir });
    gen = await seedDashboardHistory(store, { runs: 80, tasksPerRun: 10, deployments: 4, now: Date.now() });
    await store.close();
    // Served beside the generated pipeline's slipway.yml, so the capacity page can simulate it.
    writeFileSync(path.join(w.dir, 'generated.yml'), generatedPipelineYaml(gen));
    served = await startServe(['-f', 'generated.yml'], { cwd: w.dir });
  });
  afterAll(async () => {
    await browser?.close();
    await served?.stop();
    w?.cleanup();
  });

  async function open(p: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser!.newPage({ viewport });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${p}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${p}: ${e.message}`));
    await page.goto(`${served!.url}${p}`);
    return page;
  }
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  it('renders the overview with the executive summary', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/?pipeline=${gen.pipeline}`);
    await page.waitForSelector('#summary-cards .card', { timeout: LONG });
    expect(await page.locator('#summary-cards .card').count()).toBe(8);
    await page.waitForSelector('#regressions li', { timeout: LONG });
    expect(await page.locator('#regressions').textContent()).toContain(gen.slowedTask);
    expect(await page.locator('#slos tbody tr').count()).toBeGreaterThanOrEqual(4);
    await shot(page, 'overview');
    const phone = await open(`/?pipeline=${gen.pipeline}`, { width: 390, height: 844 });
    await phone.waitForSelector('#summary-cards .card', { timeout: LONG });
    // Readable on a phone: nothing wider than the screen but the scrollable tables and charts.
    const width = await phone.evaluate('document.documentElement.scrollWidth');
    expect(width).toBeLessThanOrEqual(390);
    await shot(phone, 'overview-phone');
    expect(problems).toEqual([]);
  });

  it('draws a run as a Gantt with one bar per task and the critical path marked', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/runs/${gen.runIds[5]}`);
    await page.waitForSelector('svg.gantt', { timeout: LONG });
    expect(await page.locator('svg.gantt g.task-row').count()).toBe(gen.taskIds.length);
    expect(await page.locator('svg.gantt g.task-row rect.bar').count()).toBe(gen.taskIds.length);
    const critical = await page
      .locator('svg.gantt g.task-row[data-critical="true"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-task')));
    expect(critical.sort()).toEqual([...gen.criticalPath].sort());
    expect(await page.locator('svg.gantt line.lower-bound').count()).toBe(1);
    expect(await page.locator('svg.gantt rect.ghost').count()).toBe(gen.taskIds.length);
    await shot(page, 'run');
    expect(problems).toEqual([]);
  });

  it('marks the change point on the task page', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/task?pipeline=${gen.pipeline}&task=${encodeURIComponent(gen.slowedTask)}`);
    // A vertical line has no area, so it is never "visible" to Playwright: wait until it exists.
    await page.waitForSelector('svg.trend line.change-point', { timeout: LONG, state: 'attached' });
    const runs = await page
      .locator('svg.trend line.change-point')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-run')));
    const at = gen.runIds.indexOf(gen.slowedFromRun);
    expect(runs.some((r) => Math.abs(gen.runIds.indexOf(r ?? '') - at) <= 2)).toBe(true);
    expect(await page.locator('svg.trend circle.pt').count()).toBe(80);
    await shot(page, 'task');
    expect(problems).toEqual([]);
  });

  it('shows a deployment by wave', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/deployments/${gen.deploymentIds[1]}`);
    await page.waitForSelector('section.wave', { timeout: LONG });
    expect(await page.locator('section.wave').count()).toBe(3);
    expect(await page.locator('section.wave[data-wave="2"] tr[data-target]').count()).toBe(4);
    expect(await page.locator('svg.phases rect.phase').count()).toBe(10 * 3);
    await shot(page, 'deployment');
    const list = await open('/deployments');
    await list.waitForSelector('#deployments tbody tr', { timeout: LONG });
    expect(await list.locator('#deployments tbody tr').count()).toBe(4);
    expect(problems).toEqual([]);
  });

  it('shows a run started during the test appear and complete', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open('/runs?pipeline=live');
    await page.waitForSelector('#runs', { timeout: LONG });
    const run = w.spawn(['run']);
    // It appears in the list while it runs, without a reload.
    const row = page.locator('#runs tr.status-running');
    await row.first().waitFor({ timeout: LONG });
    const id = await row.first().getAttribute('data-run');
    expect(id).toBeTruthy();
    liveRunId = id ?? undefined;
    await page.click(`#runs tr[data-run="${id}"] a`);
    await page.waitForSelector('svg.gantt', { timeout: LONG });
    // Its Gantt follows it to the end.
    // (A string predicate would be eval'd, which the page's CSP rightly forbids.)
    await page.waitForSelector('#run-status.success', { timeout: LONG });
    expect(await page.locator('svg.gantt g.task-row[data-status="success"] rect.bar').count()).toBe(3);
    await shot(page, 'live-run');
    expect((await run.done).code).toBe(0);
    expect(problems).toEqual([]);
  });
  it('shows the live run’s logs, as text, on its page', async (ctx) => {
    if (!browser || !liveRunId) return ctx.skip();
    const page = await open(`/runs/${liveRunId}`);
    await page.waitForSelector('#logs button.log-file', { timeout: LONG });
    expect(await page.locator('#logs button.log-file').count()).toBe(3);
    await page.waitForSelector('#log-text', { timeout: LONG });
    await page.click('#logs button[data-log="test.log"]');
    await page.locator('#log-head', { hasText: 'test.log' }).waitFor({ timeout: LONG });
    expect(await page.locator('#log-text').textContent()).toContain('testing');
    await shot(page, 'run-logs');
    expect(problems).toEqual([]);
  });

  it('draws the SLIs with their error budget and burn-rate charts', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/slis?pipeline=${gen.pipeline}`);
    await page.waitForSelector('#slis tbody tr', { timeout: LONG });
    expect(await page.locator('#slis tbody tr').count()).toBe(6);
    expect(await page.locator('section.sli-chart').count()).toBe(2);
    for (const sli of ['availability', 'pipelineSuccessRate']) {
      const sec = page.locator(`section.sli-chart[data-sli="${sli}"]`);
      const budget = await sec.locator('svg.budget-chart polyline.series').getAttribute('points');
      // 30 days sampled every 6 hours.
      expect(budget?.trim().split(' ')).toHaveLength(120);
      expect(await sec.locator('svg.burn-chart polyline.series').count()).toBe(2);
    }
    await shot(page, 'slis');
    expect(problems).toEqual([]);
  });

  it('draws the what-if curve with its knee and cost', async (ctx) => {
    if (!browser) return ctx.skip();
    const q = `pipeline=${gen.pipeline}&cost=0.1`;
    const v = (await (await fetch(`${served!.url}/api/capacity?${q}`)).json()) as CapacityView;
    expect(v.curve.length).toBeGreaterThanOrEqual(4);
    const page = await open(`/capacity?${q}`);
    await page.waitForSelector('svg.capacity circle.pt', { timeout: LONG });
    const cpus = await page
      .locator('svg.capacity circle.pt')
      .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-cpus'))));
    expect(cpus).toEqual(v.curve.map((r) => r.cpus));
    const knee = await page.locator('svg.capacity circle.knee').getAttribute('data-cpus');
    expect(Number(knee)).toBe(v.curve.find((r) => r.knee)!.cpus);
    expect(await page.locator('#curve tbody tr').count()).toBe(v.curve.length);
    expect(await page.locator('#curve thead').textContent()).toContain('Cost per run');
    expect(await page.locator('#needs tbody tr').count()).toBe(v.growth.needs.length);
    await shot(page, 'capacity');
    expect(problems).toEqual([]);
  });

  it('draws the deploy windows as an hour-of-week heatmap with sample counts', async (ctx) => {
    if (!browser) return ctx.skip();
    const v = (await (
      await fetch(`${served!.url}/api/windows?pipeline=${gen.pipeline}`)
    ).json()) as WindowsView;
    const page = await open(`/windows?pipeline=${gen.pipeline}`);
    await page.waitForSelector('svg.heatmap g.cell', { timeout: LONG });
    expect(await page.locator('svg.heatmap g.cell').count()).toBe(168);
    const withSamples = v.hours.filter((h) => h.samples > 0);
    expect(withSamples.length).toBeGreaterThan(0);
    expect(await page.locator('svg.heatmap text.count').count()).toBe(withSamples.length);
    const h0 = withSamples[0]!;
    expect(
      await page.locator(`svg.heatmap g.cell[data-hour="${h0.hourOfWeek}"] text.count`).textContent(),
    ).toBe(String(h0.samples));
    expect(await page.locator('#recommended').textContent()).toBe(
      v.recommended ? expect.stringContaining(v.recommended.window) : v.note,
    );
    await shot(page, 'windows');
    expect(problems).toEqual([]);
  });

  it('fits the deploy-window heatmap on a phone: hours down, days across, no sideways scroll', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open(`/windows?pipeline=${gen.pipeline}`, { width: 390, height: 844 });
    await page.waitForSelector('svg.heatmap.tall g.cell', { timeout: LONG });
    expect(await page.locator('svg.heatmap g.cell').count()).toBe(168);
    const fit = (await page.evaluate(
      "({ page: document.documentElement.scrollWidth, view: innerWidth, right: document.querySelector('svg.heatmap').getBoundingClientRect().right })",
    )) as { page: number; view: number; right: number };
    expect(fit.page).toBeLessThanOrEqual(fit.view);
    expect(fit.right).toBeLessThanOrEqual(fit.view);
    // Monday 03:00 sits below Monday 00:00 and Tuesday 00:00 to its right.
    const box = (hour: number) => page.locator(`svg.heatmap g.cell[data-hour="${hour}"] rect`).boundingBox();
    const [mon0, mon3, tue0] = await Promise.all([box(0), box(3), box(24)]);
    expect(mon3!.y).toBeGreaterThan(mon0!.y);
    expect(mon3!.x).toBe(mon0!.x);
    expect(tue0!.x).toBeGreaterThan(mon0!.x);
    expect(tue0!.y).toBe(mon0!.y);
    await shot(page, 'windows-phone');
    // Turning the phone to a wide screen redraws the week with the hours across.
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.waitForSelector('svg.heatmap.wide g.cell', { timeout: LONG });
    expect(await page.locator('svg.heatmap g.cell').count()).toBe(168);
    expect(problems).toEqual([]);
  });

  it('lists start-up time and memory per release and the rollbacks', async (ctx) => {
    if (!browser) return ctx.skip();
    const page = await open('/deployments');
    await page.waitForSelector('#releases tbody tr', { timeout: LONG });
    expect(await page.locator('#releases tbody tr').count()).toBe(4);
    expect(await page.locator('#deployments td.health').count()).toBe(4);
    await shot(page, 'deployments');
    expect(problems).toEqual([]);
  });
});
