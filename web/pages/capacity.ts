/** Capacity: the what-if curve (makespan by CPUs, the knee, cost per run) and the growth projection. */
import type { CapacityView } from '../../src/dashboard/capacity-view.js';
import { api, href } from '../api.js';
import { h, mount } from '../dom.js';
import { ms, pct } from '../format.js';
import { lineChart } from '../line-chart.js';
import { pipelinePicker } from '../pipeline-picker.js';

const money = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '–' : v < 1 ? v.toFixed(4) : v.toFixed(2);

function curve(v: CapacityView, width: number): HTMLElement {
  if (!v.curve.length) return h('p', { class: 'muted', id: 'curve-note' }, v.curveNote ?? '');
  const knee = v.curve.find((r) => r.knee);
  const priced = v.costPerCpuHour !== null;
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'legend' },
      h('span', { class: 'lg lg-makespan' }, 'simulated makespan'),
      h('span', { class: 'lg lg-lb' }, 'lower bound'),
      h('span', { class: 'lg lg-knee' }, 'knee'),
      h('span', { class: 'lg lg-current' }, 'today'),
    ),
    lineChart({
      cls: 'capacity',
      label: `Makespan by CPUs for ${v.pipeline}`,
      width,
      height: 240,
      logX: true,
      xs: v.curve.map((r) => r.cpus),
      series: [
        { name: 'lower bound', cls: 's-lb', ys: v.curve.map((r) => r.lowerBoundMs) },
        {
          name: 'makespan',
          cls: 's-makespan',
          ys: v.curve.map((r) => r.makespanMs),
          dots: true,
          dot: (i) => {
            const r = v.curve[i]!;
            return {
              cls: [r.knee ? 'knee' : '', r.cpus === v.current ? 'current' : ''].join(' ').trim(),
              attrs: { 'data-cpus': r.cpus },
              title: `${r.cpus} CPUs: ${ms(r.makespanMs)}${r.knee ? ' (knee)' : ''}${r.costPerRun !== undefined ? `, ${money(r.costPerRun)} per run` : ''}`,
            };
          },
        },
      ],
      xTick: (x) => String(x),
      yTick: ms,
      yMin: 0,
    }),
    h(
      'p',
      { id: 'knee-summary' },
      knee
        ? `The curve bends at ${knee.cpus} CPUs (${ms(knee.makespanMs)}, ${knee.speedup.toFixed(2)}× the smallest): past it, more CPUs buy little.`
        : (v.curveNote ?? ''),
      v.current !== null ? ` Today: ${v.current} slots.` : '',
    ),
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { class: 'grid-table', id: 'curve' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['CPUs', 'Makespan', 'Lower bound', 'Speed-up', 'Efficiency', priced ? 'Cost per run' : null]
              .filter((t) => t !== null)
              .map((t) => h('th', {}, t)),
          ),
        ),
        h(
          'tbody',
          {},
          ...v.curve.map((r) =>
            h(
              'tr',
              { class: r.knee ? 'knee' : '', 'data-cpus': r.cpus },
              h(
                'td',
                { class: 'num' },
                String(r.cpus),
                r.knee ? ' ◆ knee' : '',
                r.cpus === v.current ? ' (today)' : '',
              ),
              h('td', { class: 'num' }, ms(r.makespanMs)),
              h('td', { class: 'num' }, ms(r.lowerBoundMs)),
              h('td', { class: 'num' }, `${r.speedup.toFixed(2)}×`),
              h('td', { class: 'num' }, pct(r.efficiency, 0)),
              priced ? h('td', { class: 'num' }, money(r.costPerRun)) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

function growth(v: CapacityView): HTMLElement {
  const g = v.growth;
  const priced = v.costPerCpuHour !== null;
  const trend = (name: string, t: typeof g.runsPerDay, unit: string) =>
    h(
      'li',
      {},
      `${name}: `,
      t
        ? `${t.current.toFixed(1)}${unit}${t.fitted ? (t.significant ? `, ${t.slopePerDay >= 0 ? '+' : ''}${t.slopePerDay.toFixed(2)}${unit} a day (p = ${t.pValue.toFixed(3)})` : ', no significant trend') : ' (no trend fitted)'}`
        : '–',
    );
  return h(
    'section',
    { id: 'growth' },
    h('h2', {}, 'Growth'),
    h(
      'ul',
      { class: 'list' },
      h('li', {}, `${g.runs} runs over ${g.spanDays.toFixed(1)} days (${g.activeDays} with runs)`),
      trend('Runs per day', g.runsPerDay, ''),
      trend('CPU-seconds per run', g.cpuSecondsPerRun, ' s'),
      h('li', {}, `Typical makespan ${ms(g.makespanMs)} on ${g.poolCpus ?? '–'} CPUs`),
    ),
    g.needs.length
      ? h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid-table', id: 'needs' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Horizon',
                  'Runs/day',
                  'CPU-s/run',
                  'CPUs per run',
                  'Workers',
                  'CPUs',
                  'Utilization',
                  priced ? 'Cost/month' : null,
                ]
                  .filter((t) => t !== null)
                  .map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              ...g.needs.map((n) =>
                h(
                  'tr',
                  { 'data-horizon': n.horizonDays },
                  h('td', {}, n.horizonDays ? `in ${n.horizonDays} days` : 'today'),
                  h('td', { class: 'num' }, n.runsPerDay.toFixed(1)),
                  h('td', { class: 'num' }, n.cpuSecondsPerRun.toFixed(0)),
                  h('td', { class: 'num' }, n.cpusPerRun),
                  h('td', { class: 'num' }, n.workers),
                  h('td', { class: 'num' }, n.cpus),
                  h('td', { class: 'num' }, pct(n.utilization, 0)),
                  priced ? h('td', { class: 'num' }, money(n.costPerMonth)) : null,
                ),
              ),
            ),
          ),
        )
      : null,
    ...g.notes.map((n) => h('p', { class: 'muted' }, n)),
  );
}

export async function capacityPage(url: URL): Promise<undefined> {
  const asked = url.searchParams.get('pipeline');
  const cost = url.searchParams.get('cost');
  const q = new URLSearchParams();
  if (asked) q.set('pipeline', asked);
  if (cost) q.set('cost', cost);
  const v = await api<CapacityView>(`/api/capacity${q.size ? `?${q}` : ''}`);
  const width = Math.max(320, Math.min(900, document.body.clientWidth - 40));
  const input = h('input', {
    id: 'cost-input',
    type: 'number',
    step: 'any',
    min: '0',
    placeholder: 'price per CPU-hour',
    value: v.costPerCpuHour ?? undefined,
    'aria-label': 'price per CPU-hour',
  }) as HTMLInputElement;
  const apply = () => {
    const p = new URLSearchParams({ pipeline: v.pipeline });
    if (input.value) p.set('cost', input.value);
    location.href = href(`/capacity?${p}`);
  };
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') apply();
  });
  mount(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `Capacity — ${v.pipeline}`),
      await pipelinePicker('/capacity', v.pipeline),
    ),
    h('div', { class: 'filters' }, input, h('button', { onclick: apply }, 'Price')),
    h('h2', {}, 'What if: makespan by CPUs'),
    curve(v, width),
    growth(v),
  );
  return undefined;
}
