/**
 * Deploy windows: an hour-of-week heatmap (UTC) of how deployments and heavy runs went, each cell
 * with its sample count, the recommended window outlined, and the worst hours listed.
 */
import type { WindowsView } from '../../src/dashboard/windows-view.js';
import { api } from '../api.js';
import { h, mount, s } from '../dom.js';
import { pct } from '../format.js';
import { pipelinePicker } from '../pipeline-picker.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** 0 (went well) … 4 (failed often or ran slow); -1 too few samples to judge. */
function level(c: WindowsView['hours'][number], min: number): number {
  if (c.samples === 0) return -2;
  if (c.samples < min) return -1;
  const slow = Math.max(0, (c.slowdown ?? 1) - 1);
  const score = c.failureRate * 4 + slow * 2;
  return Math.min(4, Math.floor(score * 4));
}

/** "Tue 09:00-12:00 UTC" → the hours of the week it covers. */
function windowHours(w: string): Set<number> {
  const m = /^(\w{3}) (\d\d):00-(\d\d):00/.exec(w);
  if (!m) return new Set();
  const start = DAYS.indexOf(m[1]!) * 24 + Number(m[2]);
  const len = (Number(m[3]) - Number(m[2]) + 24) % 24 || 24;
  return new Set(Array.from({ length: len }, (_, k) => (start + k) % 168));
}

/**
 * The week as a grid of hour cells. `wide` puts the days in rows and the hours in columns (24
 * columns: 764 px); `tall`, for a phone, puts the hours in rows and the days in columns (7
 * columns: 318 px), so the whole week fits a narrow screen without scrolling sideways.
 */
function heatmap(v: WindowsView, layout: 'wide' | 'tall'): SVGElement {
  const wide = layout === 'wide';
  const C = wide ? 30 : 40;
  const L = wide ? 40 : 34;
  const T = 18;
  const cols = wide ? 24 : 7;
  const rows = wide ? 7 : 24;
  const W = L + cols * C + 4;
  const H = T + rows * C + 4;
  /** The top-left corner of a day's hour. */
  const at = (day: number, hr: number) =>
    wide ? { x: L + hr * C, y: T + day * C } : { x: L + day * C, y: T + hr * C };
  const best = v.recommended ? windowHours(v.recommended.window) : new Set<number>();
  const svg = s('svg', {
    class: `heatmap ${layout}`,
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': 'Hour-of-week heatmap of deployments and heavy runs (UTC)',
  });
  const hourLabel = (hr: number) => `${hr}h`;
  for (let hr = 0; hr < 24; hr += 3) {
    const { x, y } = at(0, hr);
    svg.append(
      wide
        ? s('text', { class: 'tick', x: x + C / 2, y: 12, 'text-anchor': 'middle' }, hourLabel(hr))
        : s('text', { class: 'tick', x: L - 6, y: y + C / 2 + 4, 'text-anchor': 'end' }, hourLabel(hr)),
    );
  }
  for (const [i, d] of DAYS.entries()) {
    const { x, y } = at(i, 0);
    svg.append(
      wide
        ? s('text', { class: 'tick', x: L - 6, y: y + C / 2 + 4, 'text-anchor': 'end' }, d)
        : s('text', { class: 'tick', x: x + C / 2, y: 12, 'text-anchor': 'middle' }, d),
    );
  }
  for (const c of v.hours) {
    const lv = level(c, v.minHourSamples);
    const { x, y } = at(Math.floor(c.hourOfWeek / 24), c.hourOfWeek % 24);
    const g = s(
      'g',
      {
        class: `cell${best.has(c.hourOfWeek) ? ' recommended' : ''}`,
        'data-hour': c.hourOfWeek,
        'data-samples': c.samples,
      },
      s(
        'rect',
        {
          class: `lv${lv < -1 ? '-empty' : lv < 0 ? '-few' : lv}`,
          x: x + 1,
          y: y + 1,
          width: C - 2,
          height: C - 2,
          rx: 3,
        },
        s(
          'title',
          {},
          c.samples
            ? `${c.label} UTC: ${c.samples} samples (${c.deployments} deployments, ${c.heavyRuns} heavy runs), ${pct(c.failureRate, 0)} failed${c.slowdown !== null ? `, ${c.slowdown.toFixed(2)}× usual duration` : ''}`
            : `${c.label} UTC: no samples`,
        ),
      ),
    );
    if (c.samples)
      g.append(
        s('text', { class: 'count', x: x + C / 2, y: y + C / 2 + 4, 'text-anchor': 'middle' }, c.samples),
      );
    svg.append(g);
  }
  // The recommended window, outlined (one rectangle per day it touches).
  const byDay = new Map<number, number[]>();
  for (const hw of best) byDay.set(Math.floor(hw / 24), [...(byDay.get(Math.floor(hw / 24)) ?? []), hw % 24]);
  for (const [day, hrs] of byDay) {
    const from = Math.min(...hrs);
    const span = (Math.max(...hrs) - from + 1) * C;
    const { x, y } = at(day, from);
    svg.append(
      s('rect', {
        class: 'window-outline',
        x,
        y,
        width: wide ? span : C,
        height: wide ? C : span,
        rx: 4,
      }),
    );
  }
  return svg;
}

/** The layout for this screen, redrawn when the screen turns or the window is resized across it. */
function responsiveHeatmap(v: WindowsView): HTMLElement {
  const narrow = matchMedia('(max-width: 800px)');
  const box = h('div', { class: 'chart', id: 'heatmap' });
  const draw = () => {
    // A page left behind (the app mounts another) stops listening.
    if (drawn && !box.isConnected) return narrow.removeEventListener('change', draw);
    box.replaceChildren(heatmap(v, narrow.matches ? 'tall' : 'wide'));
    drawn = true;
  };
  let drawn = false;
  draw();
  narrow.addEventListener('change', draw);
  return box;
}

export async function windowsPage(url: URL): Promise<undefined> {
  const asked = url.searchParams.get('pipeline');
  const v = await api<WindowsView>(`/api/windows${asked ? `?pipeline=${encodeURIComponent(asked)}` : ''}`);
  mount(
    h(
      'div',
      { class: 'page-head' },
      h('h1', {}, `Deploy windows — ${v.pipeline}`),
      await pipelinePicker('/windows', v.pipeline),
    ),
    h(
      'p',
      { class: 'muted' },
      `The last ${v.days} days: ${v.deployments} deployments and ${v.heavyRuns} heavy runs (${v.heavyRule}), by hour of the week in UTC. Each cell shows its samples; hours with fewer than ${v.minHourSamples} are not judged.`,
    ),
    h(
      'p',
      { id: 'recommended', class: v.recommended ? 'good' : 'muted' },
      v.recommended
        ? `Recommended window: ${v.recommended.window} (${v.recommended.samples} samples, ${pct(v.recommended.failureRate, 0)} failed${v.recommended.slowdown !== null ? `, ${v.recommended.slowdown.toFixed(2)}× usual duration` : ''}) — environments.<name>.windows accepts it.`
        : (v.note ?? 'No recommendation.'),
    ),
    h(
      'div',
      { class: 'legend' },
      h('span', { class: 'lg lg-lv0' }, 'went well'),
      h('span', { class: 'lg lg-lv2' }, 'some failures or slow'),
      h('span', { class: 'lg lg-lv4' }, 'failed often or slow'),
      h('span', { class: 'lg lg-few' }, 'too few samples'),
      h('span', { class: 'lg lg-window' }, 'recommended'),
    ),
    responsiveHeatmap(v),
    v.worst.length
      ? h(
          'section',
          {},
          h('h2', {}, 'Worst hours'),
          h(
            'ul',
            { class: 'list', id: 'worst' },
            ...v.worst.map((w) =>
              h(
                'li',
                {},
                `${w.label} UTC: ${pct(w.failureRate, 0)} of ${w.samples} failed${w.slowdown !== null ? `, ${w.slowdown.toFixed(2)}× usual duration` : ''}`,
              ),
            ),
          ),
        )
      : null,
  );
  return undefined;
}
