/** The executive summary: last 30 days against the 30 before, DORA, SLOs, regressions, actions. */
import type { Overview, WindowStats } from '../../src/dashboard/overview.js';
import type { RunHead } from '../../src/dashboard/views.js';
import type { PipelineRow } from '../../src/store/dashboard-queries.js';
import { api, href, isStatic, live, post } from '../api.js';
import { h, mount } from '../dom.js';
import { delta, ms, pct, when } from '../format.js';

interface Answer {
  pipelines: PipelineRow[];
  overview: Overview | null;
}

function card(
  label: string,
  cur: string,
  d: string,
  better: 'up' | 'down' | 'none',
  prev: string,
): HTMLElement {
  const sign = d.startsWith('+') ? 'up' : d ? 'down' : '';
  const good = better === 'none' || !sign ? '' : sign === better ? ' good' : ' bad';
  return h(
    'div',
    { class: 'card' },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, cur),
    h(
      'div',
      { class: `card-delta${good}` },
      d ? `${d} vs previous 30 days (${prev})` : `previous 30 days: ${prev}`,
    ),
  );
}

function cards(c: WindowStats, p: WindowStats): HTMLElement {
  return h(
    'section',
    { class: 'cards', id: 'summary-cards' },
    card(
      'Pipeline time p50',
      ms(c.pipelineP50Ms),
      delta(c.pipelineP50Ms, p.pipelineP50Ms),
      'down',
      ms(p.pipelineP50Ms),
    ),
    card(
      'Pipeline time p95',
      ms(c.pipelineP95Ms),
      delta(c.pipelineP95Ms, p.pipelineP95Ms),
      'down',
      ms(p.pipelineP95Ms),
    ),
    card(
      'Deploy time p50',
      ms(c.deployP50Ms),
      delta(c.deployP50Ms, p.deployP50Ms),
      'down',
      ms(p.deployP50Ms),
    ),
    card(
      'Deploy time p95',
      ms(c.deployP95Ms),
      delta(c.deployP95Ms, p.deployP95Ms),
      'down',
      ms(p.deployP95Ms),
    ),
    card('Success rate', pct(c.successRate), delta(c.successRate, p.successRate), 'up', pct(p.successRate)),
    card(
      'Cache hit rate',
      pct(c.cacheHitRate),
      delta(c.cacheHitRate, p.cacheHitRate),
      'up',
      pct(p.cacheHitRate),
    ),
    card(
      'Time saved by the cache',
      ms(c.cacheSavedMs),
      delta(c.cacheSavedMs, p.cacheSavedMs),
      'up',
      ms(p.cacheSavedMs),
    ),
    card('Runs', String(c.runs), delta(c.runs, p.runs), 'none', String(p.runs)),
  );
}

function dora(c: WindowStats, p: WindowStats): HTMLElement {
  const rows: [string, keyof WindowStats['dora'], (v: number | null) => string][] = [
    ['Deployment frequency', 'deploymentFrequency', (v) => (v === null ? '–' : `${v.toFixed(2)}/day`)],
    ['Change lead time', 'changeLeadTime', ms],
    ['Change fail rate', 'changeFailRate', (v) => pct(v)],
    ['Failed deployment recovery', 'failedDeploymentRecoveryTime', ms],
  ];
  return h(
    'section',
    {},
    h('h2', {}, 'DORA'),
    h(
      'table',
      { class: 'grid-table' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Metric'),
          h('th', {}, 'Last 30 days'),
          h('th', {}, 'Tier'),
          h('th', {}, 'Previous 30 days'),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map(([label, k, f]) =>
          h(
            'tr',
            {},
            h('td', {}, label),
            h('td', {}, f(c.dora[k].value)),
            h(
              'td',
              {},
              h('span', { class: `tier tier-${c.dora[k].tier ?? 'none'}` }, c.dora[k].tier ?? 'no data'),
            ),
            h('td', {}, f(p.dora[k].value)),
          ),
        ),
      ),
    ),
  );
}

function slos(o: Overview): HTMLElement {
  return h(
    'section',
    {},
    h('h2', {}, 'SLOs'),
    h(
      'table',
      { class: 'grid-table', id: 'slos' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'SLI'),
          h('th', {}, 'Value'),
          h('th', {}, 'Target'),
          h('th', {}, 'Status'),
          h('th', {}, 'Error budget left'),
          h('th', {}, 'Burn-rate alerts'),
        ),
      ),
      h(
        'tbody',
        {},
        ...o.slis.map((s) => {
          const f = (v: number | null) => (s.unit === 'ms' ? ms(v) : pct(v, 2));
          const left = s.budget ? Math.max(0, Math.min(1, s.budget.remaining)) : null;
          const meter = h(
            'div',
            { class: 'meter' },
            h('div', { class: `meter-fill${left !== null && left < 0.25 ? ' low' : ''}` }),
          );
          if (left !== null) (meter.firstChild as HTMLElement).style.width = `${(left * 100).toFixed(1)}%`;
          return h(
            'tr',
            {},
            h('td', {}, s.name),
            h('td', {}, f(s.value)),
            h('td', {}, f(s.target)),
            h(
              'td',
              {},
              h(
                'span',
                { class: `badge ${s.met === null ? 'none' : s.met ? 'ok' : 'bad'}` },
                s.met === null ? 'no data' : s.met ? 'met' : 'missed',
              ),
            ),
            h('td', {}, s.budget ? h('div', { class: 'budget' }, meter, pct(s.budget.remaining)) : '–'),
            h(
              'td',
              { class: 'burn' },
              ...(s.alerts ?? [])
                .filter((a) => a.firing)
                .map((a) =>
                  h(
                    'span',
                    {
                      class: `badge ${a.severity === 'page' ? 'bad' : 'cancelled'}`,
                      title: `burn ${a.longBurn.toFixed(1)}× over ${ms(a.longMs)}, ${a.shortBurn.toFixed(1)}× over ${ms(a.shortMs)}`,
                    },
                    `${a.severity}: ${a.burnRate}× burn`,
                  ),
                ),
            ),
          );
        }),
      ),
    ),
  );
}

function regressions(o: Overview, writable: boolean, reload: () => void): HTMLElement {
  if (!o.openRegressions.length)
    return h('section', {}, h('h2', {}, 'Open regressions'), h('p', { class: 'muted' }, 'None.'));
  return h(
    'section',
    {},
    h('h2', {}, `Open regressions (${o.openRegressions.length})`),
    h(
      'ul',
      { class: 'list', id: 'regressions' },
      ...o.openRegressions.map((f) =>
        h(
          'li',
          {},
          h(
            'a',
            {
              href: href(
                `/task?pipeline=${encodeURIComponent(o.pipeline)}&task=${encodeURIComponent(f.subject)}`,
              ),
            },
            f.subject,
          ),
          ` ${ms(f.meanBefore)} → ${ms(f.meanAfter)} (+${(f.change * 100).toFixed(0)}%) since run `,
          h('a', { href: href(`/runs/${encodeURIComponent(f.runId)}`) }, f.runId),
          ` · ${when(f.runStartedAt)} `,
          writable && !isStatic
            ? h('button', { class: 'ack', onclick: () => void ack(o.pipeline, f.id, reload) }, 'Acknowledge')
            : null,
        ),
      ),
    ),
  );
}

async function ack(pipeline: string, id: string, reload: () => void): Promise<void> {
  const token =
    sessionStorage.getItem('slipway-token') ?? window.prompt('Token (from the server’s --token-file)') ?? '';
  if (!token) return;
  const note = window.prompt('Note (optional)') ?? '';
  try {
    await post('/api/regressions/ack', { pipeline, id, note: note || undefined }, token);
    sessionStorage.setItem('slipway-token', token);
    reload();
  } catch (e) {
    sessionStorage.removeItem('slipway-token');
    window.alert(`Not acknowledged: ${(e as Error).message}`);
  }
}

function actions(o: Overview): HTMLElement {
  if (!o.recommendations)
    return h(
      'section',
      {},
      h('h2', {}, 'Action items'),
      h('p', { class: 'muted' }, o.recommendationsNote ?? ''),
    );
  return h(
    'section',
    {},
    h('h2', {}, 'Action items'),
    o.recommendations.length
      ? h(
          'ol',
          { class: 'list', id: 'recommendations' },
          ...o.recommendations.map((r) =>
            h(
              'li',
              {},
              h('strong', {}, r.title),
              ` — saves ${ms(r.savedMsPerRun)} per run (${ms(r.baselineMs)} → ${ms(r.predictedMs)}, simulated)`,
              h('div', { class: 'muted' }, `Risk: ${r.risk}. Change: ${r.change}`),
              h('ul', { class: 'evidence' }, ...r.evidence.map((e) => h('li', {}, e))),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nothing to recommend.'),
  );
}

function runningList(runs: RunHead[]): HTMLElement {
  return h(
    'section',
    { id: 'running' },
    h('h2', {}, 'Running now'),
    runs.length
      ? h(
          'ul',
          { class: 'list' },
          ...runs.map((r) =>
            h(
              'li',
              {},
              h('a', { href: href(`/runs/${encodeURIComponent(r.id)}`) }, `${r.pipeline} · ${r.id}`),
              ` started ${when(r.startedAt)}, ${r.tasks.succeeded + r.tasks.failed + r.tasks.skipped}/${r.tasks.total} tasks done`,
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No run in progress.'),
  );
}

export async function overviewPage(url: URL): Promise<(() => void) | undefined> {
  const pipeline = url.searchParams.get('pipeline');
  const path = `/api/overview${pipeline ? `?pipeline=${encodeURIComponent(pipeline)}` : ''}`;
  const meta = isStatic ? { writable: false } : await api<{ writable: boolean }>('/api/pipelines');
  const draw = async () => {
    const a = await api<Answer>(path);
    const o = a.overview;
    if (!o) {
      mount(
        h('h1', {}, 'Overview'),
        h('p', { class: 'muted' }, 'No runs recorded yet. Run slipway run with this store.'),
        runningList([]),
      );
      return;
    }
    const select = h(
      'select',
      {
        id: 'pipeline-select',
        'aria-label': 'pipeline',
        onchange: (e) =>
          (location.href = href(`/?pipeline=${encodeURIComponent((e.target as HTMLSelectElement).value)}`)),
      },
      ...a.pipelines.map((p) =>
        h(
          'option',
          { value: p.pipeline, selected: p.pipeline === o.pipeline },
          `${p.pipeline} (${p.runs} runs)`,
        ),
      ),
    );
    mount(
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, `Overview · ${o.pipeline}`),
        a.pipelines.length > 1 ? select : null,
        h('button', { class: 'print', onclick: () => window.print() }, 'Print'),
      ),
      h(
        'p',
        { class: 'muted' },
        `Last 30 days (${when(o.current.from)} – ${when(o.generatedAt)}) against the 30 before.`,
      ),
      cards(o.current, o.previous),
      h('div', { id: 'running-slot' }),
      h('div', { class: 'two-col' }, dora(o.current, o.previous), slos(o)),
      regressions(o, meta.writable, () => void draw()),
      actions(o),
    );
  };
  await draw();
  return live<{ running: RunHead[] }>('/api/live', (d) => {
    document.getElementById('running-slot')?.replaceChildren(runningList(d.running));
  });
}
