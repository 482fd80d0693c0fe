/** One deployment: its waves, each wave's targets by region with their phase timelines. */
import type { DeploymentView } from '../../src/dashboard/views.js';
import { api, live } from '../api.js';
import { h, mount, s } from '../dom.js';
import { bytes, ms, pct, when } from '../format.js';

const PHASE_W = 320;

function timeline(v: DeploymentView, t: DeploymentView['waves'][number]['targets'][number]): SVGElement {
  const t0 = v.deployment.startedAt;
  const span = Math.max(1, (v.deployment.endedAt ?? v.now) - t0);
  const svg = s('svg', { class: 'phases', width: PHASE_W, height: 14, viewBox: `0 0 ${PHASE_W} 14` });
  for (const p of t.phases) {
    const x = ((p.at - t0) / span) * PHASE_W;
    const w = Math.max(2, ((p.ms ?? 0) / span) * PHASE_W);
    svg.append(
      s(
        'rect',
        {
          class: `phase phase-${p.name.replace(/[^a-z0-9-]/gi, '')}`,
          x: Math.min(x, PHASE_W - w),
          y: 2,
          width: w,
          height: 10,
        },
        s('title', {}, `${p.name}: ${ms(p.ms)} at ${when(p.at)}`),
      ),
    );
  }
  return svg;
}

function draw(v: DeploymentView): void {
  const d = v.deployment;
  const item = (k: string, val: string) =>
    h('div', { class: 'kv' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, val));
  const reused = d.chunksTotal ? d.chunksReused / d.chunksTotal : null;
  const meter = h('div', { class: 'meter wide' }, h('div', { class: 'meter-fill' }));
  if (reused !== null) (meter.firstChild as HTMLElement).style.width = `${(reused * 100).toFixed(1)}%`;
  mount(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `Deployment ${d.id}`),
      h('span', { class: `badge big ${d.status}` }, d.status),
    ),
    h(
      'section',
      { class: 'kvs', id: 'deployment-summary' },
      item('Environment', d.environment),
      item('Kind', d.kind),
      item('Version', d.version),
      item('Release', d.release),
      item('Started', when(d.startedAt)),
      item('Duration', ms(d.durationMs)),
      item('Bytes moved', `${bytes(d.bytesSent)} of ${bytes(d.artifactBytes)}`),
      item('Chunks reused', `${d.chunksReused} of ${d.chunksTotal} (${pct(reused)})`),
      d.reason ? item('Reason', d.reason) : null,
    ),
    h('div', { class: 'reuse' }, h('span', { class: 'k' }, 'Reused vs moved'), meter),
    ...v.waves.map((w) =>
      h(
        'section',
        { class: 'wave', 'data-wave': w.wave },
        h('h2', {}, `Wave ${w.wave}`),
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Target',
                  'Region',
                  'Status',
                  'Phases (stage · activate · gate · bake)',
                  'Staged in',
                  'Bytes moved',
                  'Chunks reused',
                  'Health ok/failed',
                ].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...w.targets.map((t) =>
                h(
                  'tr',
                  { 'data-target': t.target },
                  h('td', {}, t.target),
                  h('td', {}, t.region),
                  h('td', {}, h('span', { class: `badge ${t.status}` }, t.status)),
                  h('td', {}, timeline(v, t)),
                  h('td', { class: 'num' }, ms(t.stagedMs)),
                  h('td', { class: 'num' }, bytes(t.bytesSent)),
                  h('td', { class: 'num' }, `${t.chunksReused}/${t.chunksReused + t.chunksFetched}`),
                  h('td', { class: 'num' }, `${t.health.ok}/${t.health.failed}`),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

export async function deploymentPage(id: string): Promise<(() => void) | undefined> {
  const path = `/api/deployments/${encodeURIComponent(id)}`;
  const v = await api<DeploymentView>(path);
  draw(v);
  if (v.deployment.status !== 'running') return undefined;
  // Waves fill in as the deployment writes its targets.
  return live<DeploymentView | null>(`${path}/live`, (d) => {
    if (d) draw(d);
  });
}
