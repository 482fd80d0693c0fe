/**
 * The real Prometheus (Debian's package) scrapes `slipway serve`'s /metrics and answers queries
 * over what it scraped: the run counter matches the store, and a task-duration quantile comes
 * out of the histogram. Skipped with a message when prometheus is not installed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GeneratedHistory, seedDashboardHistory } from '../../bench/lib/dashboard-history.js';
import { openStore } from '../../src/store/store.js';
import { type Workspace, waitFor, workspace } from '../helpers/cli.js';
import { type Served, startServe } from '../helpers/serve.js';

const GRAFANA = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../docs/grafana-dashboard.json',
);

function prometheusBinary(): string | undefined {
  try {
    return execFileSync('which', ['prometheus'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function portFromKernel(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Prometheus scraping slipway serve', () => {
  const bin = prometheusBinary();
  let w: Workspace;
  let served: Served | undefined;
  let gen: GeneratedHistory;
  let prom: ChildProcess | undefined;
  let promUrl = '';
  let dataDir = '';

  beforeAll(async () => {
    if (!bin) {
      console.warn('Prometheus test skipped: no prometheus binary (apt-get install prometheus)');
      return;
    }
    w = workspace('version: 1\nname: unused\ntasks:\n  a: { run: "true" }\n');
    const store = await openStore({ root: w.dir });
    gen = await seedDashboardHistory(store, { runs: 40, tasksPerRun: 6, deployments: 3, now: Date.now() });
    await store.close();
    served = await startServe([], { cwd: w.dir });
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'slipway-prom-'));
    const config = path.join(dataDir, 'prometheus.yml');
    writeFileSync(
      config,
      `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: slipway\n    static_configs:\n      - targets: ['${served.url.replace('http://', '')}']\n`,
    );
    // Prometheus cannot take a held socket: take a port the kernel just handed out and retry
    // with another if someone else took it meanwhile.
    for (let attempt = 0; attempt < 5 && !prom; attempt++) {
      const port = await portFromKernel();
      const p = spawn(
        bin,
        [
          `--config.file=${config}`,
          `--storage.tsdb.path=${path.join(dataDir, `tsdb-${attempt}`)}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let log = '';
      p.stderr!.setEncoding('utf8').on('data', (s: string) => {
        log += s;
      });
      let exited = false;
      p.on('exit', () => {
        exited = true;
      });
      const ready = await waitFor(
        () => (exited ? 'exited' : /Server is ready to receive web requests/.test(log) ? 'ready' : undefined),
        { timeoutMs: 60_000, everyMs: 100, what: 'prometheus to start' },
      );
      if (ready === 'ready') {
        prom = p;
        promUrl = `http://127.0.0.1:${port}`;
      } else if (!/address already in use/.test(log)) throw new Error(`prometheus failed:\n${log}`);
    }
  });
  afterAll(async () => {
    if (prom && prom.exitCode === null) {
      prom.kill('SIGTERM');
      await once(prom, 'exit');
    }
    await served?.stop();
    w?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function query(q: string): Promise<QueryResult['data']['result']> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as QueryResult;
    expect(body.status).toBe('success');
    return body.data.result;
  }

  async function poll(q: string): Promise<QueryResult['data']['result']> {
    const until = Date.now() + 90_000;
    for (;;) {
      const r = await query(q);
      if (r.length) return r;
      if (Date.now() > until) throw new Error(`no result for ${q}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  it('answers queries over the scraped metrics', async (ctx) => {
    if (!bin || !prom) return ctx.skip();
    const runs = await poll(`sum(slipway_runs_total{pipeline="${gen.pipeline}"})`);
    expect(Number(runs[0]!.value[1])).toBe(40);
    const byTask = await poll(
      `sum by (task) (slipway_task_duration_seconds_count{pipeline="${gen.pipeline}"})`,
    );
    expect(byTask.length).toBeGreaterThan(1);
    const p50 = await poll(
      `histogram_quantile(0.5, sum by (le) (slipway_task_duration_seconds_bucket{task="${gen.criticalPath[0]}"}))`,
    );
    // The critical-path tasks take about four seconds: the quantile lands in the 2–5 s bucket.
    expect(Number(p50[0]!.value[1])).toBeGreaterThan(2);
    expect(Number(p50[0]!.value[1])).toBeLessThanOrEqual(5);
    const budget = await poll(`slipway_error_budget_remaining_ratio{sli="availability"}`);
    expect(Number.isFinite(Number(budget[0]!.value[1]))).toBe(true);
    const up = await query('up{job="slipway"}');
    expect(up[0]!.value[1]).toBe('1');
  });

  it('answers every query of the Grafana dashboard in the repository', async (ctx) => {
    if (!bin || !prom) return ctx.skip();
    const dashboard = JSON.parse(readFileSync(GRAFANA, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
    expect(exprs.length).toBeGreaterThan(10);
    // increase() and rate() need two samples of a series: wait for a second scrape.
    const until = Date.now() + 90_000;
    while (Number((await query('max(count_over_time(slipway_runs_total[1h]))'))[0]?.value[1] ?? 0) < 2) {
      if (Date.now() > until) throw new Error('Prometheus did not scrape twice');
      await new Promise((res) => setTimeout(res, 500));
    }
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const q = expr
        .replaceAll('$pipeline', '.*')
        .replaceAll('$__rate_interval', '1m')
        .replaceAll('$__range', '1h');
      // Each parses and runs; the run and SLI panels have data from the generated history.
      const r = await query(q);
      if (!r.length) empty.push(panel);
    }
    // Only panels over what this history cannot have (rates need two scrapes of a change).
    expect(
      empty.filter((p) => /SLIs|Error budget|Open regressions|Runs by outcome|Success rate/.test(p)),
    ).toEqual([]);
  });
});
