/** The runs list, filterable by pipeline and status, newest first, refreshed while runs change. */
import type { RunHead } from '../../src/dashboard/views.js';
import type { PipelineRow } from '../../src/store/dashboard-queries.js';
import { api, href, isStatic, live } from '../api.js';
import { h, mount } from '../dom.js';
import { ms, when } from '../format.js';

const STATUSES = ['', 'running', 'success', 'failed', 'cancelled', 'interrupted'];

export function runRow(r: RunHead): HTMLElement {
  return h(
    'tr',
    { 'data-run': r.id, class: `status-${r.status}` },
    h('td', {}, h('a', { href: href(`/runs/${encodeURIComponent(r.id)}`) }, r.id)),
    h('td', {}, r.pipeline),
    h('td', {}, h('span', { class: `badge ${r.status}` }, r.status)),
    h('td', {}, when(r.startedAt)),
    h('td', { class: 'num' }, ms(r.durationMs)),
    h('td', { class: 'num' }, ms(r.lowerBoundMs)),
    h('td', { class: 'num' }, `${r.tasks.succeeded + r.tasks.failed + r.tasks.skipped}/${r.tasks.total}`),
    h('td', { class: 'num' }, String(r.tasks.cached)),
    h('td', {}, r.gitSha?.slice(0, 8) ?? ''),
  );
}

export async function runsPage(url: URL): Promise<(() => void) | undefined> {
  const pipeline = url.searchParams.get('pipeline') ?? '';
  const status = url.searchParams.get('status') ?? '';
  const query = new URLSearchParams();
  if (pipeline) query.set('pipeline', pipeline);
  if (status) query.set('status', status);
  const pipelines = isStatic ? [] : (await api<{ pipelines: PipelineRow[] }>('/api/pipelines')).pipelines;
  const go = (k: string, v: string) => {
    const q = new URLSearchParams(query);
    if (v) q.set(k, v);
    else q.delete(k);
    location.href = href(`/runs${q.size ? `?${q}` : ''}`);
  };
  const body = h('tbody', { id: 'runs-body' });
  let next: number | null = null;
  const more = h('button', { id: 'more', onclick: () => void load(true) }, 'Older runs');
  const load = async (append: boolean) => {
    const q = new URLSearchParams(query);
    if (append && next !== null) q.set('before', String(next));
    const a = await api<{ runs: RunHead[]; next: number | null }>(`/api/runs${q.size ? `?${q}` : ''}`);
    if (!append) body.replaceChildren();
    body.append(...a.runs.map(runRow));
    next = a.next;
    more.hidden = next === null || isStatic;
  };
  mount(
    h('div', { class: 'page-head' }, h('h1', {}, 'Runs')),
    isStatic
      ? null
      : h(
          'div',
          { class: 'filters' },
          h(
            'select',
            {
              'aria-label': 'pipeline',
              onchange: (e) => go('pipeline', (e.target as HTMLSelectElement).value),
            },
            h('option', { value: '' }, 'all pipelines'),
            ...pipelines.map((p) =>
              h('option', { value: p.pipeline, selected: p.pipeline === pipeline }, p.pipeline),
            ),
          ),
          h(
            'select',
            { 'aria-label': 'status', onchange: (e) => go('status', (e.target as HTMLSelectElement).value) },
            ...STATUSES.map((s) => h('option', { value: s, selected: s === status }, s || 'any status')),
          ),
        ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'grid-table', id: 'runs' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...[
              'Run',
              'Pipeline',
              'Status',
              'Started',
              'Duration',
              'Lower bound',
              'Tasks',
              'Cached',
              'Commit',
            ].map((t) => h('th', {}, t)),
          ),
        ),
        body,
      ),
    ),
    more,
  );
  await load(false);
  // New and finishing runs show up without a reload.
  return live<unknown>('/api/live', () => void load(false));
}
