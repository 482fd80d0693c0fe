/**
 * The dashboard's route table (Hono): the page shell, bundled assets, JSON reads over the store,
 * Server-Sent Events for live runs, /metrics, and the one write (acknowledging a regression),
 * which needs the token. Routes are tested with `app.request()` and no socket.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { secureHeaders } from 'hono/secure-headers';
import * as z from 'zod';
import { acknowledge } from '../analyze/findings-store.js';
import type { Pipeline } from '../config/types.js';
import type { Store } from '../store/store.js';
import { AnalysisCache } from './analysis-cache.js';
import type { DashboardAssets } from './assets.js';
import { capacityView } from './capacity-view.js';
import { liveStream } from './live.js';
import type { DashboardMetrics } from './metrics.js';
import { OverviewCache } from './overview-cache.js';
import { releasesView } from './releases-view.js';
import { listRunLogs, readRunLog } from './run-logs.js';
import { slisView } from './slis-view.js';
import { deploymentView, runHead, runView, taskView } from './views.js';
import { windowsView } from './windows-view.js';

export interface DashboardOptions {
  store: Store;
  assets: DashboardAssets;
  /** The pipeline of the slipway.yml beside which serve runs, if any (for recommendations). */
  config?: Pipeline;
  /** Without a token the dashboard is read-only. */
  token?: string;
  metrics?: DashboardMetrics;
  /** Shared with the metrics; made here when not given. */
  overviews?: OverviewCache;
  /**
   * Host names requests may address (the Host header), when bound to loopback: a web page
   * elsewhere that re-points its own name at 127.0.0.1 (DNS rebinding) is refused. Any by default.
   */
  allowedHosts?: readonly string[];
  /** The checkout whose .slipway/logs the run pages show; without it runs show no logs. */
  root?: string;
  /** How often live streams poll the store. */
  pollMs?: number;
  now?: () => number;
}

/** Strict CSP: our own script and stylesheet only, nothing inline, no framing. */
const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'none'"],
  frameAncestors: ["'none'"],
};

const runsQuery = z.object({
  pipeline: z.string().min(1).max(200).optional(),
  status: z.enum(['running', 'success', 'failed', 'cancelled', 'interrupted']).optional(),
  before: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const pipelineQuery = z.object({ pipeline: z.string().min(1).max(200).optional() });
const taskQuery = z.object({
  pipeline: z.string().min(1).max(200),
  task: z.string().min(1).max(500),
  limit: z.coerce.number().int().min(10).max(5000).optional(),
});
const deploymentsQuery = z.object({
  before: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
const capacityQuery = pipelineQuery.extend({
  cost: z.coerce.number().positive().max(1_000_000).optional(),
});
const ackBody = z.object({
  pipeline: z.string().min(1).max(200),
  id: z.string().min(1).max(100),
  note: z.string().max(2000).optional(),
  by: z.string().max(200).optional(),
  undo: z.boolean().optional(),
});

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The page shell every page route answers with; the bundled script draws the page. */
function shell(title: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/assets/app.css"><script src="/assets/app.js" defer></script></head>
<body><header class="top"><a class="brand" href="/">Slipway</a><nav><a href="/">Overview</a><a href="/runs">Runs</a><a href="/deployments">Deployments</a><a href="/slis">SLIs</a><a href="/capacity">Capacity</a><a href="/windows">Windows</a></nav><span id="live-indicator" class="live-off" title="live updates">●</span></header>
<main id="app"><p class="muted">Loading…</p></main></body></html>`;
}

const PAGES = [
  '/',
  '/runs',
  '/runs/:id',
  '/task',
  '/deployments',
  '/deployments/:id',
  '/slis',
  '/capacity',
  '/windows',
];

export function createDashboardApp(o: DashboardOptions): Hono {
  const { store } = o;
  const now = o.now ?? Date.now;
  const app = new Hono();
  const overviews = o.overviews ?? new OverviewCache(store, o.config, now);
  const analyses = new AnalysisCache(store, now);
  /** The pipeline a page asked for, else serve's own, else the most recently run. */
  const pipelineOf = async (asked: string | undefined) =>
    asked ?? o.config?.name ?? (await overviews.pipelines())[0]?.pipeline;

  if (o.allowedHosts) {
    const allowed = new Set(o.allowedHosts.map((h) => h.toLowerCase()));
    app.use('*', async (c, next) => {
      // The adapter builds the URL from the Host header (Fetch hides the header itself).
      const host = new URL(c.req.url).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
      if (!allowed.has(host)) return c.text('unknown host\n', 421);
      return next();
    });
  }
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CSP,
      referrerPolicy: 'no-referrer',
      strictTransportSecurity: false,
    }),
  );
  // SSE must not be buffered by compression; everything else is.
  app.use('*', async (c, next) => {
    if (c.req.path.endsWith('/live')) return next();
    return compress()(c, next);
  });

  for (const p of PAGES) app.get(p, (c) => c.html(shell('Slipway')));

  app.get('/assets/app.js', (c) => {
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    return c.body(o.assets.js);
  });
  app.get('/assets/app.css', (c) => {
    c.header('Content-Type', 'text/css; charset=utf-8');
    c.header('Cache-Control', 'no-cache');
    return c.body(o.assets.css);
  });

  app.get('/api/pipelines', async (c) =>
    c.json({ pipelines: await overviews.pipelines(), writable: o.token !== undefined }),
  );

  app.get('/api/overview', async (c) => {
    const q = pipelineQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'bad query' }, 400);
    const pipelines = await overviews.pipelines();
    const name = q.data.pipeline ?? o.config?.name ?? pipelines[0]?.pipeline;
    if (name === undefined) return c.json({ pipelines, overview: null });
    return c.json({ pipelines, overview: await overviews.get(name) });
  });

  app.get('/api/runs', async (c) => {
    const q = runsQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: q.error.issues[0]?.message ?? 'bad query' }, 400);
    const rows = await store.dashboard.runPage(q.data);
    return c.json({
      runs: rows.map(runHead),
      next: rows.length === q.data.limit ? rows.at(-1)!.started_at : null,
    });
  });

  app.get('/api/runs/:id', async (c) => {
    const v = await runView(store, c.req.param('id'), now());
    return v ? c.json(v) : c.json({ error: 'no such run' }, 404);
  });

  app.get('/api/runs/:id/logs', async (c) => {
    const id = c.req.param('id');
    if (!(await store.dashboard.runById(id))) return c.json({ error: 'no such run' }, 404);
    return c.json({ logs: o.root === undefined ? [] : await listRunLogs(o.root, id) });
  });

  app.get('/api/runs/:id/logs/:name', async (c) => {
    const id = c.req.param('id');
    if (o.root === undefined || !(await store.dashboard.runById(id)))
      return c.json({ error: 'no such run' }, 404);
    const log = await readRunLog(o.root, id, c.req.param('name'));
    return log ? c.json(log) : c.json({ error: 'no such log' }, 404);
  });

  app.get('/api/slis', async (c) => {
    const q = pipelineQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'bad query' }, 400);
    const pipeline = await pipelineOf(q.data.pipeline);
    if (pipeline === undefined) return c.json({ error: 'no runs recorded yet' }, 404);
    return c.json(
      await analyses.get(pipeline, 'slis', (at) =>
        slisView(store, { pipeline, now: at, ...(o.config ? { config: o.config } : {}) }),
      ),
    );
  });

  app.get('/api/capacity', async (c) => {
    const q = capacityQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: q.error.issues[0]?.message ?? 'bad query' }, 400);
    const pipeline = await pipelineOf(q.data.pipeline);
    if (pipeline === undefined) return c.json({ error: 'no runs recorded yet' }, 404);
    const cost = q.data.cost;
    return c.json(
      await analyses.get(pipeline, `capacity:${cost ?? ''}`, (at) =>
        capacityView(store, {
          pipeline,
          now: at,
          ...(o.config ? { config: o.config } : {}),
          ...(cost !== undefined ? { costPerCpuHour: cost } : {}),
        }),
      ),
    );
  });

  app.get('/api/windows', async (c) => {
    const q = pipelineQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'bad query' }, 400);
    const pipeline = await pipelineOf(q.data.pipeline);
    if (pipeline === undefined) return c.json({ error: 'no runs recorded yet' }, 404);
    return c.json(await analyses.get(pipeline, 'windows', (at) => windowsView(store, { pipeline, now: at })));
  });

  // Every environment's releases: keyed by no pipeline, so only deployments move the fingerprint
  // (app measurements are written while their deployment runs, before it ends).
  app.get('/api/releases', async (c) =>
    c.json(await analyses.get('', 'releases', (at) => releasesView(store, at))),
  );

  app.get('/api/runs/:id/live', (c) => {
    const id = c.req.param('id');
    return liveStream(c, {
      pollMs: o.pollMs,
      read: async () => {
        const v = await runView(store, id, now());
        return { data: v ?? null, done: v !== undefined && v.run.status !== 'running' };
      },
      // `now` changes every poll: compare without it.
      key: (v) => JSON.stringify(v && { ...v, now: 0 }),
    });
  });

  app.get('/api/live', (c) =>
    liveStream(c, {
      pollMs: o.pollMs,
      read: async () => {
        const running = await store.dashboard.runPage({ status: 'running', limit: 50 });
        const [latest] = await store.dashboard.runPage({ limit: 1 });
        return {
          data: { running: running.map(runHead), latest: latest ? runHead(latest) : null },
          done: false,
        };
      },
      key: (v) => JSON.stringify(v),
    }),
  );

  app.get('/api/task', async (c) => {
    const q = taskQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'pipeline and task are required' }, 400);
    const v = await taskView(store, {
      pipeline: q.data.pipeline,
      taskId: q.data.task,
      ...(q.data.limit !== undefined ? { limit: q.data.limit } : {}),
    });
    return v ? c.json(v) : c.json({ error: 'no such task in that pipeline' }, 404);
  });

  app.get('/api/deployments', async (c) => {
    const q = deploymentsQuery.safeParse(c.req.query());
    if (!q.success) return c.json({ error: 'bad query' }, 400);
    const rows = await store.dashboard.deploymentPage(q.data);
    // Health samples of the page's deployments, summed over their targets.
    const health = rows.length
      ? await store.dashboard.deploymentHealth({ from: rows.at(-1)!.started_at, to: rows[0]!.started_at + 1 })
      : [];
    const byId = new Map(health.map((x) => [x.deployment_id, x]));
    return c.json({
      deployments: rows.map((d) => ({
        id: d.id,
        kind: d.kind,
        environment: d.environment,
        version: d.version,
        status: d.status,
        startedAt: d.started_at,
        durationMs: d.duration_ms,
        bytesSent: d.bytes_sent,
        artifactBytes: d.artifact_bytes,
        chunksTotal: d.chunks_total,
        chunksReused: d.chunks_reused,
        health: byId.has(d.id) ? { ok: byId.get(d.id)!.ok, failed: byId.get(d.id)!.failed } : null,
      })),
      next: rows.length === q.data.limit ? rows.at(-1)!.started_at : null,
    });
  });

  app.get('/api/deployments/:id', async (c) => {
    const v = await deploymentView(store, c.req.param('id'), now());
    return v ? c.json(v) : c.json({ error: 'no such deployment' }, 404);
  });

  app.get('/api/deployments/:id/live', (c) => {
    const id = c.req.param('id');
    return liveStream(c, {
      pollMs: o.pollMs,
      read: async () => {
        const v = await deploymentView(store, id, now());
        return { data: v ?? null, done: v !== undefined && v.deployment.status !== 'running' };
      },
      key: (v) => JSON.stringify(v && { ...v, now: 0 }),
    });
  });

  app.post('/api/regressions/ack', async (c) => {
    if (o.token === undefined)
      return c.json(
        { error: 'read-only: start slipway serve with --token-file to allow acknowledgements' },
        403,
      );
    const auth = c.req.header('authorization') ?? '';
    const given = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (!given || !sameSecret(given, o.token)) return c.json({ error: 'a valid token is required' }, 401);
    const body = ackBody.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) return c.json({ error: body.error.issues[0]?.message ?? 'bad body' }, 400);
    const [res] = await acknowledge(store, body.data.pipeline, [body.data.id], {
      by: body.data.by ?? 'dashboard',
      note: body.data.note ?? null,
      now: now(),
      undo: body.data.undo ?? false,
    });
    overviews.forget(body.data.pipeline);
    return res?.ok ? c.json({ finding: res.finding }) : c.json({ error: 'no such finding' }, 404);
  });

  app.get('/metrics', async (c) => {
    if (!o.metrics) return c.text('metrics are off\n', 404);
    const { type, body } = await o.metrics.scrape();
    c.header('Content-Type', type);
    return c.body(body);
  });

  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.onError((e, c) => {
    process.stderr.write(
      `slipway serve: ${c.req.method} ${c.req.path}: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}
