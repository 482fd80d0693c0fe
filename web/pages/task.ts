/** A task: duration trend with its p50–p95 band and change points, cache hit rate, right-sizing. */
import type { TaskView } from '../../src/dashboard/views.js';
import { api, href } from '../api.js';
import { h, mount } from '../dom.js';
import { bytes, ms, pct, when } from '../format.js';
import { trend } from '../trend.js';

export async function taskPage(url: URL): Promise<undefined> {
  const pipeline = url.searchParams.get('pipeline') ?? '';
  const task = url.searchParams.get('task') ?? '';
  const v = await api<TaskView>(
    `/api/task?pipeline=${encodeURIComponent(pipeline)}&task=${encodeURIComponent(task)}`,
  );
  const chart = h('div', { class: 'chart', id: 'trend' });
  const last = v.band.at(-1);
  const rs = v.rightSizing;
  mount(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `Task ${v.taskId}`),
      h('span', { class: 'muted' }, `pipeline ${v.pipeline}`),
    ),
    h(
      'section',
      { class: 'kvs' },
      ...[
        ['Executions shown', String(v.points.length)],
        ['p50 (last 20)', ms(last?.p50)],
        ['p95 (last 20)', ms(last?.p95)],
        ['Cache hit rate', pct(v.cacheHitRate)],
        ['Failures', String(v.failures)],
        ['Change points', String(v.changePoints.length)],
      ].map(([k, val]) =>
        h('div', { class: 'kv' }, h('span', { class: 'k' }, k!), h('span', { class: 'v' }, val!)),
      ),
    ),
    h('h2', {}, 'Duration trend'),
    chart,
    h(
      'section',
      {},
      h('h2', {}, 'Change points'),
      v.changePoints.length
        ? h(
            'ul',
            { class: 'list', id: 'change-points' },
            ...v.changePoints.map((c) => {
              const f = v.findings.find((x) => x.runId === c.runId);
              return h(
                'li',
                {},
                `${ms(c.before)} → ${ms(c.after)} (${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(0)}%) at run `,
                h('a', { href: href(`/runs/${encodeURIComponent(c.runId)}`) }, c.runId),
                ` · ${when(c.startedAt)}`,
                f?.acknowledged
                  ? h(
                      'span',
                      { class: 'badge ok' },
                      ` acknowledged${f.acknowledged.note ? `: ${f.acknowledged.note}` : ''}`,
                    )
                  : null,
              );
            }),
          )
        : h('p', { class: 'muted' }, 'No change point in this history.'),
    ),
    h(
      'section',
      {},
      h('h2', {}, 'Right-sizing'),
      rs
        ? h(
            'table',
            { class: 'grid-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, ''),
                h('th', {}, 'Requested'),
                h('th', {}, 'Recommended'),
                h('th', {}, 'Upper'),
              ),
            ),
            h(
              'tbody',
              {},
              h(
                'tr',
                {},
                h('td', {}, 'CPU'),
                h('td', {}, String(rs.request.cpu ?? '–')),
                h('td', {}, rs.cpu ? rs.cpu.target.toFixed(2) : '–'),
                h('td', {}, rs.cpu ? rs.cpu.upper.toFixed(2) : '–'),
              ),
              h(
                'tr',
                {},
                h('td', {}, 'Memory'),
                h('td', {}, bytes(rs.request.memory)),
                h('td', {}, bytes(rs.memory?.target)),
                h('td', {}, bytes(rs.memory?.upper)),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No resource samples.'),
      rs?.flags.length ? h('ul', { class: 'list' }, ...rs.flags.map((f) => h('li', {}, f.kind))) : null,
    ),
  );
  chart.append(trend(v, Math.max(360, chart.clientWidth || document.body.clientWidth - 32)));
  return undefined;
}
