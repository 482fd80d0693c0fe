/** SLIs: each SLI against its target with its error budget left, and budget and burn-rate charts. */
import type { SliChart, SlisView } from '../../src/dashboard/slis-view.js';
import { api } from '../api.js';
import { h, mount } from '../dom.js';
import { ms, pct } from '../format.js';
import { lineChart } from '../line-chart.js';
import { pipelinePicker } from '../pipeline-picker.js';

const TITLES: Record<string, string> = {
  availability: 'Availability (deploy health checks)',
  deploymentDurationP95: 'Deployment duration p95',
  resourceEfficiency: 'Resource efficiency',
  deploymentFailureRate: 'Deployment failure rate',
  recoveryTime: 'Recovery time',
  pipelineSuccessRate: 'Pipeline success rate',
};

const day = (t: number) => new Date(t).toISOString().slice(5, 10);

function table(v: SlisView): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'grid-table', id: 'slis' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['SLI', 'Value', 'Target', 'Status', 'Error budget left', 'Samples', 'Firing'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...v.slis.map((s) => {
          const f = (x: number | null) => (s.unit === 'ms' ? ms(x) : pct(x, 2));
          const left = s.budget ? Math.max(0, Math.min(1, s.budget.remaining)) : null;
          const fill = h('div', { class: `meter-fill${left !== null && left < 0.25 ? ' low' : ''}` });
          if (left !== null) fill.style.width = `${(left * 100).toFixed(1)}%`;
          const firing = (s.alerts ?? []).filter((a) => a.firing);
          return h(
            'tr',
            { 'data-sli': s.name },
            h('td', {}, TITLES[s.name] ?? s.name, h('div', { class: 'evidence' }, s.source)),
            h('td', { class: 'num' }, f(s.value)),
            h('td', { class: 'num' }, f(s.target)),
            h(
              'td',
              {},
              h(
                'span',
                { class: `badge ${s.met === null ? 'skipped' : s.met ? 'ok' : 'bad'}` },
                s.met === null ? 'no data' : s.met ? 'met' : 'missed',
              ),
            ),
            h(
              'td',
              {},
              s.budget
                ? h('div', { class: 'budget' }, h('div', { class: 'meter' }, fill), pct(s.budget.remaining))
                : '–',
            ),
            h('td', { class: 'num' }, s.samples),
            h(
              'td',
              {},
              ...firing.map((a) =>
                h(
                  'span',
                  { class: `badge ${a.severity === 'page' ? 'bad' : 'running'}` },
                  `${a.severity} ×${a.burnRate}`,
                ),
              ),
            ),
          );
        }),
      ),
    ),
  );
}

function charts(c: SliChart, windows: string[], width: number): HTMLElement {
  const xs = c.points.map((p) => p.at);
  const events = c.points.at(-1)?.events ?? 0;
  return h(
    'section',
    { class: 'sli-chart', 'data-sli': c.name },
    h(
      'h2',
      {},
      TITLES[c.name] ?? c.name,
      ' ',
      h('span', { class: 'muted' }, `objective ${pct(c.objective, 2)}`),
    ),
    h('p', { class: 'evidence' }, `${c.source}; ${events} events in the period`),
    h('h3', {}, 'Error budget left'),
    lineChart({
      cls: 'budget-chart',
      label: `Error budget left of ${c.name}`,
      width,
      xs,
      series: [{ name: 'remaining', cls: 's-budget', ys: c.points.map((p) => p.remaining) }],
      xTick: day,
      yTick: (y) => pct(y, 0),
      yMin: Math.min(0, ...c.points.map((p) => p.remaining)),
      yMax: 1,
      refs: [{ y: 0, cls: 'ref-bad', label: 'spent' }],
    }),
    h('h3', {}, 'Burn rate'),
    h(
      'div',
      { class: 'legend' },
      ...windows.map((w, i) => h('span', { class: `lg lg-burn${i}` }, `${w} window`)),
    ),
    lineChart({
      cls: 'burn-chart',
      label: `Burn rate of ${c.name}`,
      width,
      xs,
      series: windows.map((w, i) => ({
        name: w,
        cls: `s-burn${i}`,
        ys: c.points.map((p) => p.burn[i] ?? 0),
      })),
      xTick: day,
      yTick: (y) => `${y.toFixed(1)}×`,
      yMin: 0,
      refs: [
        { y: 1, cls: 'ref-warn', label: '1× (ticket, 3d)' },
        { y: 6, cls: 'ref-bad', label: '6× (page, 6h)' },
      ],
    }),
  );
}

export async function slisPage(url: URL): Promise<undefined> {
  const asked = url.searchParams.get('pipeline');
  const v = await api<SlisView>(`/api/slis${asked ? `?pipeline=${encodeURIComponent(asked)}` : ''}`);
  const width = Math.max(320, Math.min(1100, document.body.clientWidth - 40));
  mount(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `SLIs — ${v.pipeline}`),
      await pipelinePicker('/slis', v.pipeline),
    ),
    h(
      'p',
      { class: 'muted' },
      `Over the last ${Math.round(v.periodMs / 86_400_000)} days; charts sampled every 6 hours.`,
    ),
    table(v),
    ...v.charts.map((c) => charts(c, v.windows, width)),
  );
  return undefined;
}
