/**
 * The dashboard in Chromium over a generated history: the overview renders its summary, a run's
 * Gantt has one bar per task and marks the critical path, a task page shows its change point, a
 * deployment page shows its waves, and a run started during the test appears and completes on
 * screen. Screenshots land in test-artifacts/. The page must also run under its own strict CSP:
 * any CSP violation or script error fails the test.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedHistory, seedDashboardHistory } from '../../bench/lib/dashboard-history.js';
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

  beforeAll(async () => {
    browser = await launchChromium('dashboard');
    if (!browser) return;
    w = workspace(
      pipelineYaml(
        {
          compile: { run: 'sleep 1' },
          lint: { run: 'sleep 1' },
          test: { run: 'sleep 1.5', needs: ['compile'] },
        },
        { name: 'live' },
      ),
    );
    const store = await openStore({ root: w.dir });
    gen = await seedDashboardHistory(store, { runs: 80, tasksPerRun: 10, deployments: 4, now: Date.now() });
    await store.close();
    served = await startServe([], { cwd: w.dir });
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
});
