/**
 * `slipway report --html FILE`: the dashboard as one self-contained HTML file (CI artifacts,
 * e-mail). The page's API answers are computed by the same route table `slipway serve` uses and
 * embedded as JSON beside the inlined script and stylesheet; links become hash routes.
 */
import type { Pipeline } from '../config/types.js';
import type { Store } from '../store/store.js';
import { createDashboardApp } from './app.js';
import type { DashboardAssets } from './assets.js';
import type { DeploymentView, RunHead, RunView } from './views.js';

/** How much history the file carries: the overview, these many runs and deployments in full. */
const RUN_PAGES = 10;
const DEPLOYMENT_PAGES = 10;

/** `</script>` and friends cannot end the embedding element early. */
function embed(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export async function renderHtmlReport(
  store: Store,
  o: { pipeline: Pipeline; assets: DashboardAssets; now?: number },
): Promise<string> {
  const now = o.now ?? Date.now();
  const app = createDashboardApp({ store, assets: o.assets, config: o.pipeline, now: () => now });
  const data: Record<string, unknown> = {};
  const get = async <T>(path: string): Promise<T | undefined> => {
    const res = await app.request(path);
    if (!res.ok) return undefined;
    const body = (await res.json()) as T;
    data[path] = body;
    return body;
  };
  const name = encodeURIComponent(o.pipeline.name);
  await get('/api/overview');
  const runs = await get<{ runs: RunHead[] }>(`/api/runs?pipeline=${name}`);
  data['/api/runs'] = runs;
  const tasks = new Set<string>();
  for (const r of runs?.runs.slice(0, RUN_PAGES) ?? []) {
    const v = await get<RunView>(`/api/runs/${encodeURIComponent(r.id)}`);
    for (const t of v?.tasks ?? []) tasks.add(t.id);
  }
  for (const t of tasks) await get(`/api/task?pipeline=${name}&task=${encodeURIComponent(t)}`);
  const deployments = await get<{ deployments: { id: string }[] }>('/api/deployments?limit=100');
  for (const d of deployments?.deployments.slice(0, DEPLOYMENT_PAGES) ?? [])
    await get<DeploymentView>(`/api/deployments/${encodeURIComponent(d.id)}`);
  await get('/api/releases');
  // The pages ask for their pipeline's view; in the file that is the report's pipeline.
  for (const page of ['slis', 'capacity', 'windows']) {
    const v = await get(`/api/${page}?pipeline=${name}`);
    if (v) data[`/api/${page}`] = v;
  }
  const title = `Slipway report · ${o.pipeline.name} · ${new Date(now).toISOString().slice(0, 10)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title.replace(/[<&]/g, '')}</title><style>${o.assets.css}</style></head>
<body><header class="top"><a class="brand" href="#/">Slipway</a><nav><a href="#/">Overview</a><a href="#/runs">Runs</a><a href="#/deployments">Deployments</a><a href="#/slis">SLIs</a><a href="#/capacity">Capacity</a><a href="#/windows">Windows</a></nav><span id="live-indicator" class="live-off"></span></header>
<main id="app"><p class="muted">This report needs JavaScript to draw its charts.</p></main>
<script type="application/json" id="slipway-data">${embed(data)}</script>
<script>${o.assets.js.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>
`;
}
