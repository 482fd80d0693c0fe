/**
 * `slipway report --html FILE`: one file with everything inlined (no request leaves it), which
 * Chromium opens from disk and draws: the overview, a run's Gantt through a hash link.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedHistory, seedDashboardHistory } from '../../bench/lib/dashboard-history.js';
import { openStore } from '../../src/store/store.js';
import { ARTIFACTS, launchChromium } from '../helpers/chromium.js';
import { type Workspace, workspace } from '../helpers/cli.js';

describe('slipway report --html', () => {
  let w: Workspace;
  let gen: GeneratedHistory;
  beforeAll(async () => {
    w = workspace('version: 1\nname: generated\ntasks:\n  a: { run: "true" }\n');
    const store = await openStore({ root: w.dir });
    gen = await seedDashboardHistory(store, { runs: 60, tasksPerRun: 10, deployments: 3, now: Date.now() });
    await store.close();
  });
  afterAll(() => w?.cleanup());

  it('writes one self-contained file that draws the dashboard', async () => {
    const r = await w.run(['report', '--html', 'report.html']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote report\.html \(\d+ KB\)$/m);
    const html = readFileSync(path.join(w.dir, 'report.html'), 'utf8');
    // Nothing is fetched from anywhere: no external script, stylesheet, image or font.
    expect(html).not.toMatch(/<(script|img|link)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/url\(\s*['"]?https?:/i);
    expect(html).toContain(`"/api/runs/${gen.runIds.at(-1)}"`);

    const browser = await launchChromium('report --html');
    if (!browser) return;
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      const url = pathToFileURL(path.join(w.dir, 'report.html')).href;
      await page.goto(url);
      await page.waitForSelector('#summary-cards .card', { timeout: 60_000 });
      await page.goto(`${url}#/runs/${gen.runIds.at(-1)}`);
      await page.waitForSelector('svg.gantt', { timeout: 60_000 });
      expect(await page.locator('svg.gantt g.task-row').count()).toBe(gen.taskIds.length);
      await page.screenshot({ path: path.join(ARTIFACTS, 'report-html-run.png'), fullPage: true });
      // The analysis pages travel in the file too.
      await page.goto(`${url}#/slis`);
      await page.waitForSelector('#slis tbody tr', { timeout: 60_000 });
      expect(await page.locator('#slis tbody tr').count()).toBe(6);
      await page.goto(`${url}#/windows`);
      await page.waitForSelector('svg.heatmap g.cell', { timeout: 60_000 });
      expect(await page.locator('svg.heatmap g.cell').count()).toBe(168);
      await page.goto(`${url}#/capacity`);
      await page.waitForSelector('#growth', { timeout: 60_000 });
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('refuses --html with --json', async () => {
    const r = await w.run(['report', '--html', 'x.html', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: choose one of --json, --markdown and --html$/m);
  });
});
