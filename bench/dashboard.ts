/**
 * Dashboard bench (`npm run bench -- --only dashboard [--quick]`, or alone:
 * `node dist/bench/dashboard.js [--quick]`): a generated history of 10,000 runs × 50 tasks and
 * 500 deployments (quick: 1,000 × 20 and 50) behind `slipway serve`'s route table on a real
 * socket. Reports the API p95 per page (target ≤ 100 ms) on SQLite and, when one answers at
 * 127.0.0.1:5432, PostgreSQL; the time to first render of the overview and of a run page in
 * Chromium (≤ 1 s); and each page's compressed weight (≤ 300 KB).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { createAdaptorServer } from '@hono/node-server';
import pg from 'pg';
import { parsePipeline } from '../src/config/load.js';
import { createDashboardApp } from '../src/dashboard/app.js';
import { type DashboardAssets, loadAssets } from '../src/dashboard/assets.js';
import { DashboardMetrics } from '../src/dashboard/metrics.js';
import { OverviewCache } from '../src/dashboard/overview-cache.js';
import { openStore, type Store } from '../src/store/store.js';
import { quantile } from '../src/util/quantile.js';
import { runAlone } from './lib/alone.js';
import {
  type GeneratedHistory,
  generatedPipelineYaml,
  seedDashboardHistory,
} from './lib/dashboard-history.js';
import type { BenchOptions, BenchRow } from './lib/row.js';

const API_TARGET_MS = 100;
const RENDER_TARGET_MS = 1000;
const WEIGHT_TARGET_KB = 300;
const SUITE = 'dashboard';

interface Shape {
  runs: number;
  tasksPerRun: number;
  deployments: number;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

async function timed(url: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return { ms: performance.now() - t, body };
}

/** The pages' API requests, each with the paths it varies over. */
function pages(gen: GeneratedHistory, n: number): { page: string; paths: string[] }[] {
  const pick = <T>(xs: readonly T[], i: number) => xs[Math.floor((i * 7919) % xs.length)]!;
  const range = Array.from({ length: n }, (_, i) => i);
  const p = encodeURIComponent(gen.pipeline);
  return [
    { page: 'overview', paths: range.map(() => `/api/overview?pipeline=${p}`) },
    {
      page: 'runs list',
      paths: range.map((i) => (i % 2 ? `/api/runs?pipeline=${p}` : '/api/runs?status=failed')),
    },
    { page: 'run', paths: range.map((i) => `/api/runs/${pick(gen.runIds, i)}`) },
    {
      page: 'task',
      paths: range.map((i) => `/api/task?pipeline=${p}&task=${encodeURIComponent(pick(gen.taskIds, i))}`),
    },
    { page: 'deployments', paths: range.map(() => '/api/deployments') },
    { page: 'deployment', paths: range.map((i) => `/api/deployments/${pick(gen.deploymentIds, i)}`) },
    { page: 'slis', paths: range.map(() => `/api/slis?pipeline=${p}`) },
    { page: 'capacity', paths: range.map(() => `/api/capacity?pipeline=${p}&cost=0.05`) },
    { page: 'windows', paths: range.map(() => `/api/windows?pipeline=${p}`) },
    { page: 'releases', paths: range.map(() => '/api/releases') },
    { page: 'metrics', paths: range.map(() => '/metrics') },
    // The floor: an answer that reads nothing, measured in the same loop (machine load shows here).
    { page: 'healthz (floor)', paths: range.map(() => '/healthz') },
  ];
}

async function measureApi(
  kind: string,
  /** PostgreSQL only: its URL, to analyze the freshly filled tables as autovacuum would. */
  analyzeUrl: string | undefined,
  store: Store,
  assets: DashboardAssets,
  shape: Shape,
  quick: boolean,
  log: (l: string) => void,
): Promise<{ rows: BenchRow[]; url: string; server: Server; gen: GeneratedHistory }> {
  const now = Date.now();
  const started = performance.now();
  const gen = await seedDashboardHistory(store, { ...shape, now });
  // A long-lived PostgreSQL has statistics (autovacuum analyzes); a freshly filled one not yet.
  if (analyzeUrl) {
    const c = new pg.Client({ connectionString: analyzeUrl });
    await c.connect();
    await c.query('analyze');
    await c.end();
  }
  log(
    `dashboard: ${kind}: generated ${shape.runs} runs × ${shape.tasksPerRun} tasks in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const overviews = new OverviewCache(store, undefined, Date.now);
  const metrics = new DashboardMetrics({ store, overviews });
  // Beside the generated pipeline's slipway.yml, so the capacity page simulates its curve.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-dash-yml-'));
  const file = path.join(dir, 'slipway.yml');
  writeFileSync(file, generatedPipelineYaml(gen));
  const config = parsePipeline('slipway.yml', file, generatedPipelineYaml(gen));
  rmSync(dir, { recursive: true, force: true });
  const app = createDashboardApp({ store, assets, overviews, metrics, config });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const url = await listen(server);
  const label = `${kind} ${shape.runs}×${shape.tasksPerRun}`;
  const rows: BenchRow[] = [];
  // The first overview computes (re-detection over the newest 1000 runs included); later ones
  // are answered from the cache until the history changes. Both are reported.
  const cold = await timed(`${url}/api/overview?pipeline=${encodeURIComponent(gen.pipeline)}`);
  rows.push({
    suite: SUITE,
    case: label,
    metric: 'overview first (computed)',
    value: cold.ms,
    unit: 'ms',
    note: 'recomputed only when history changes',
  });
  const firstScrape = await timed(`${url}/metrics`);
  rows.push({
    suite: SUITE,
    case: label,
    metric: 'metrics first scrape',
    value: firstScrape.ms,
    unit: 'ms',
    note: 'observes the whole history once',
  });
  // The SLI, capacity and window pages read weeks of history; remembered like the overview.
  for (const page of ['slis', 'capacity', 'windows']) {
    const first = await timed(
      `${url}/api/${page}?pipeline=${encodeURIComponent(gen.pipeline)}${page === 'capacity' ? '&cost=0.05' : ''}`,
    );
    rows.push({
      suite: SUITE,
      case: label,
      metric: `${page} first (computed)`,
      value: first.ms,
      unit: 'ms',
      note: 'recomputed only when history changes',
    });
  }
  for (const { page, paths } of pages(gen, quick ? 20 : 60)) {
    const times: number[] = [];
    for (const p of paths) times.push((await timed(`${url}${p}`)).ms);
    const p95 = quantile(times, 0.95);
    rows.push({
      suite: SUITE,
      case: label,
      metric: `API p95 ${page}`,
      value: p95,
      unit: 'ms',
      target: `<= ${API_TARGET_MS}`,
      pass: p95 <= API_TARGET_MS,
      note: `median ${quantile(times, 0.5).toFixed(1)} ms over ${times.length}`,
    });
  }
  return { rows, url, server, gen };
}

/** First render in Chromium (median of 5 fresh pages) and the page's gzip weight. */
async function measureBrowser(
  url: string,
  gen: GeneratedHistory,
  log: (l: string) => void,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const shell = (await timed(`${url}/`)).body;
  const js = (await timed(`${url}/assets/app.js`)).body;
  const css = (await timed(`${url}/assets/app.css`)).body;
  const gz = (s: string) => gzipSync(s).length;
  const base = gz(shell) + gz(js) + gz(css);
  const p = encodeURIComponent(gen.pipeline);
  const views = [
    {
      page: 'overview',
      path: `/?pipeline=${p}`,
      selector: '#summary-cards .card',
      api: [`/api/overview?pipeline=${p}`, '/api/pipelines'],
    },
    {
      page: 'run',
      path: `/runs/${gen.runIds.at(-1)}`,
      selector: 'svg.gantt',
      api: [`/api/runs/${gen.runIds.at(-1)}`],
    },
    {
      page: 'slis',
      path: `/slis?pipeline=${p}`,
      selector: 'svg.burn-chart',
      api: [`/api/slis?pipeline=${p}`],
    },
    {
      page: 'capacity',
      path: `/capacity?pipeline=${p}`,
      selector: 'svg.capacity',
      api: [`/api/capacity?pipeline=${p}`],
    },
    {
      page: 'windows',
      path: `/windows?pipeline=${p}`,
      selector: 'svg.heatmap',
      api: [`/api/windows?pipeline=${p}`],
    },
  ];
  for (const v of views) {
    let kb = base;
    for (const a of v.api) kb += gz((await timed(`${url}${a}`)).body);
    kb /= 1024;
    rows.push({
      suite: SUITE,
      case: v.page,
      metric: 'page weight (gzip)',
      value: kb,
      unit: 'KB',
      target: `<= ${WEIGHT_TARGET_KB}`,
      pass: kb <= WEIGHT_TARGET_KB,
    });
  }
  const chromium = '/usr/bin/chromium';
  const { existsSync } = await import('node:fs');
  if (!existsSync(chromium)) {
    log('dashboard: no Chromium at /usr/bin/chromium: first-render figures skipped');
    return rows;
  }
  const { chromium: driver } = await import('playwright-core');
  const browser = await driver.launch({
    executablePath: chromium,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    for (const v of views) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const t = performance.now();
        await page.goto(`${url}${v.path}`);
        await page.waitForSelector(v.selector, { timeout: 60_000, state: 'attached' });
        times.push(performance.now() - t);
        await page.close();
      }
      const med = quantile(times, 0.5);
      rows.push({
        suite: SUITE,
        case: v.page,
        metric: 'first render in Chromium',
        value: med,
        unit: 'ms',
        target: `<= ${RENDER_TARGET_MS}`,
        pass: med <= RENDER_TARGET_MS,
        note: 'median of 5 fresh pages, navigation to drawn',
      });
    }
  } finally {
    await browser.close();
  }
  return rows;
}

async function scratchPostgres(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const admin = 'postgres://root@127.0.0.1:5432/test';
  const name = `slipway_bench_dash_${process.pid}`;
  const c = new pg.Client({ connectionString: admin, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
  return {
    url: `postgres://root@127.0.0.1:5432/${name}`,
    drop: async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

export async function benchDashboard(options: BenchOptions): Promise<BenchRow[]> {
  const { quick, log } = options;
  const assets = loadAssets(path.join(options.root, 'dist', 'dashboard'));
  if (!assets) throw new Error('dist/dashboard is missing: run npm run build');
  const shape: Shape = quick
    ? { runs: 1000, tasksPerRun: 20, deployments: 50 }
    : { runs: 10_000, tasksPerRun: 50, deployments: 500 };
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-dash-'));
  const sqlite = await openStore({ url: path.join(dir, 'history.db'), root: dir });
  try {
    const m = await measureApi('sqlite', undefined, sqlite, assets, shape, quick, log);
    rows.push(...m.rows);
    rows.push(...(await measureBrowser(m.url, m.gen, log)));
    m.server.closeAllConnections();
    await new Promise((r) => m.server.close(r));
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const pgdb = await scratchPostgres();
  if (!pgdb) {
    log('dashboard: no PostgreSQL at 127.0.0.1:5432: PostgreSQL figures skipped');
    return rows;
  }
  const store = await openStore({ url: pgdb.url, root: os.tmpdir() });
  try {
    const m = await measureApi('postgres', pgdb.url, store, assets, shape, quick, log);
    rows.push(...m.rows);
    m.server.closeAllConnections();
    await new Promise((r) => m.server.close(r));
  } finally {
    await store.close();
    await pgdb.drop();
  }
  return rows;
}

runAlone(import.meta.url, benchDashboard);
