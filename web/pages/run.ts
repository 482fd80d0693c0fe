/** A run: its summary, the Gantt (live while it runs) and the task table. */

import type { LogFile, LogText } from '../../src/dashboard/run-logs.js';
import type { RunView } from '../../src/dashboard/views.js';
import { api, href, isStatic, live } from '../api.js';
import { h, mount } from '../dom.js';
import { bytes, ms, pct, when } from '../format.js';
import { gantt } from '../gantt.js';

function summary(v: RunView): HTMLElement {
  const r = v.run;
  const eff = r.lowerBoundMs && r.durationMs ? Math.min(1, r.lowerBoundMs / r.durationMs) : null;
  const item = (k: string, val: string) =>
    h('div', { class: 'kv' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, val));
  return h(
    'section',
    { class: 'kvs', id: 'run-summary' },
    item('Status', r.status),
    item('Pipeline', r.pipeline),
    item('Started', when(r.startedAt)),
    item('Duration', r.status === 'running' ? `${ms(v.now - r.startedAt)} so far` : ms(r.durationMs)),
    item('Predicted', ms(r.predictedMakespanMs)),
    item('Lower bound', ms(r.lowerBoundMs)),
    item('Parallel efficiency', pct(eff)),
    item(
      'Tasks',
      `${r.tasks.succeeded} ok, ${r.tasks.failed} failed, ${r.tasks.skipped} skipped, ${r.tasks.cached} cached of ${r.tasks.total}`,
    ),
    item('Concurrency', `${r.concurrency} slots, ${r.capacityCpu} CPU`),
    item('CPU used', `${v.tasks.reduce((a, t) => a + (t.cpuSeconds ?? 0), 0).toFixed(1)} s`),
    item('Peak memory (a task)', bytes(Math.max(0, ...v.tasks.map((t) => t.peakRssBytes ?? 0)) || null)),
    item(
      'Saved by the cache',
      ms(v.tasks.filter((t) => t.cacheHit).reduce((a, t) => a + Math.max(0, t.savedMs ?? 0), 0)),
    ),
    item('Critical path', v.criticalPath.length ? `${v.criticalPath.length} tasks` : '–'),
    item('Commit', r.gitSha?.slice(0, 12) ?? '–'),
    item('Host', r.host),
  );
}

function table(v: RunView): HTMLElement {
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'grid-table', id: 'tasks' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Task', 'Status', 'Cache', 'Duration', 'Predicted', 'CPU s', 'Peak memory', 'Saved', 'Why'].map(
            (t) => h('th', {}, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...v.tasks.map((t) =>
          h(
            'tr',
            { class: t.critical ? 'critical' : '' },
            h(
              'td',
              {},
              h(
                'a',
                {
                  href: href(
                    `/task?pipeline=${encodeURIComponent(v.run.pipeline)}&task=${encodeURIComponent(t.id)}`,
                  ),
                },
                t.id,
              ),
              t.critical ? h('span', { class: 'cp-tag', title: 'on the critical path' }, ' ◆') : null,
            ),
            h('td', {}, h('span', { class: `badge ${t.status}` }, t.status)),
            h('td', {}, t.cache ?? ''),
            h('td', { class: 'num' }, ms(t.durationMs)),
            h('td', { class: 'num' }, ms(t.predictedMs)),
            h('td', { class: 'num' }, t.cpuSeconds === null ? '–' : t.cpuSeconds.toFixed(2)),
            h('td', { class: 'num' }, bytes(t.peakRssBytes)),
            h('td', { class: 'num' }, t.cacheHit ? ms(t.savedMs) : ''),
            h('td', { class: 'reason' }, t.reason ?? ''),
          ),
        ),
      ),
    ),
  );
}

const legend = () =>
  h(
    'div',
    { class: 'legend' },
    h('span', { class: 'lg lg-bar' }, 'actual'),
    h('span', { class: 'lg lg-ghost' }, 'predicted'),
    h('span', { class: 'lg lg-hit' }, 'cache hit'),
    h('span', { class: 'lg lg-critical' }, 'critical path'),
    h('span', { class: 'lg lg-lb' }, 'lower bound'),
    h('span', { class: 'lg lg-failed' }, 'failed'),
  );

/** The run's task logs: a button per file, the chosen one's tail shown as text. */
async function logs(v: RunView): Promise<HTMLElement | null> {
  if (isStatic) return null;
  const id = encodeURIComponent(v.run.id);
  const { logs: files } = await api<{ logs: LogFile[] }>(`/api/runs/${id}/logs`);
  const pre = h('pre', { class: 'log', id: 'log-text' });
  const head = h('p', { class: 'muted', id: 'log-head' });
  const buttons = files.map((f) =>
    h(
      'button',
      {
        class: 'log-file',
        'data-log': f.name,
        onclick: () => void show(f.name),
      },
      `${f.name} (${bytes(f.bytes)})`,
    ),
  );
  const show = async (name: string) => {
    for (const b of buttons) b.classList.toggle('on', b.getAttribute('data-log') === name);
    const t = await api<LogText>(`/api/runs/${id}/logs/${encodeURIComponent(name)}`);
    head.textContent = `${t.name}: ${bytes(t.bytes)}${t.truncated ? ', showing the end' : ''}`;
    // Text, never markup: a log may contain anything.
    pre.textContent = t.text || '(empty)';
  };
  const section = h(
    'section',
    { id: 'logs' },
    h('h2', {}, 'Logs'),
    files.length
      ? h('div', { class: 'filters wrap' }, ...buttons)
      : h(
          'p',
          { class: 'muted' },
          'No logs for this run here (serve shows the logs of runs in its own checkout).',
        ),
    files.length ? head : null,
    files.length ? pre : null,
  );
  // The first failed task's log, else the first.
  const failed = v.tasks.find((t) => t.status === 'failed');
  const first =
    files.find((f) => failed && f.name === `${failed.id.replace(/[^A-Za-z0-9_.@-]/g, '_')}.log`) ?? files[0];
  if (first) await show(first.name);
  return section;
}

export async function runPage(id: string, _url: URL): Promise<(() => void) | undefined> {
  const chart = h('div', { class: 'chart', id: 'gantt' });
  const head = h('div', {});
  const rest = h('div', {});
  const draw = (v: RunView) => {
    head.replaceChildren(
      h(
        'div',
        { class: 'page-head' },
        h('h1', {}, `Run ${v.run.id}`),
        h('span', { class: `badge big ${v.run.status}`, id: 'run-status' }, v.run.status),
      ),
      summary(v),
    );
    chart.replaceChildren(gantt(v, Math.max(640, chart.clientWidth || document.body.clientWidth - 32)));
    rest.replaceChildren(h('h2', {}, 'Tasks'), table(v));
  };
  const v = await api<RunView>(`/api/runs/${encodeURIComponent(id)}`);
  const logBox = h('div', {});
  mount(head, h('h2', {}, 'Gantt'), legend(), chart, rest, logBox);
  draw(v);
  const showLogs = async () => logBox.replaceChildren((await logs(v).catch(() => null)) ?? '');
  if (v.run.status !== 'running') {
    await showLogs();
    return undefined;
  }
  return live<RunView | null>(`/api/runs/${encodeURIComponent(id)}/live`, (d, done) => {
    if (d) draw(d);
    if (done && d) void logs(d).then((x) => logBox.replaceChildren(x ?? ''));
  });
}
