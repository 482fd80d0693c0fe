/**
 * The dashboard's route table (Hono): the page shell, bundled assets, JSON reads over the store,
 * Server-Sent Events for live runs, /metrics, and the one write (acknowledging a regression),
 * which needs the token. Routes are tested with `app.request()` and no socket.
 */
import { timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { secureHeaders } from 'hono/secure-headers';
import { z } from 'zod';
import { acknowledge } from '../analyze/findings-store.js';
import type { Pipeline } from '../config/types.js';
import type { Store } from '../store/store.js';
import type { DashboardAssets } from './assets.js';
import { liveStream } from './live.js';
import type { DashboardMetrics } from './metrics.js';
import { OverviewCache } from './overview-cache.js';
import { deploymentView, runHead, runView, taskView } from './views.js';

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
<body><header class="top"><a class="brand" href="/">Slipway</a><nav><a href="/">Overview</a><a href="/runs">Runs</a><a href="/deployments">Deployments</a></nav><span id="live-indicator" class="live-off" title="live updates">●</span></header>
<main id="app"><p class="muted">Loading…</p></main></body></html>`;
}

const PAGES = ['/', '/runs', '/runs/:id', '/task', '/deployments', '/deployments/:id'];

export function createDashboardApp(o: DashboardOptions): Hono {
  const { store } = o;
  const now = o.now ?? Date.now;
  const app = new Hono();
  const overviews = o.overviews ?? new OverviewCache(store, o.config, now);

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
