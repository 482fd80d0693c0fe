/**
 * A task's duration trend as SVG: each execution a dot, the rolling p50–p95 band behind them,
 * change points as vertical lines (acknowledged findings dashed).
 */
import type { TaskView } from '../src/dashboard/views.js';
import { s } from './dom.js';
import { ms } from './format.js';

export function trend(v: TaskView, width: number): SVGElement {
  const H = 240;
  const L = 60;
  const B = 20;
  const n = v.points.length;
  const max = Math.max(1, ...v.points.map((p) => p.durationMs), ...v.band.map((b) => b.p95)) * 1.05;
  const x = (i: number) => L + (n <= 1 ? 0 : (i / (n - 1)) * (width - L - 10));
  const y = (d: number) => 8 + (1 - d / max) * (H - B - 8);
  const svg = s('svg', {
    class: 'trend',
    width,
    height: H,
    viewBox: `0 0 ${width} ${H}`,
    role: 'img',
    'aria-label': `Duration trend of ${v.taskId}`,
  });
  for (let k = 0; k <= 4; k++) {
    const d = (max / 4) * k;
    svg.append(
      s('line', { class: 'grid', x1: L, x2: width - 10, y1: y(d), y2: y(d) }),
      s('text', { class: 'tick', x: L - 4, y: y(d) + 4, 'text-anchor': 'end' }, ms(d)),
    );
  }
  if (n > 1) {
    const top = v.band.map((b, i) => `${x(i)},${y(b.p95)}`);
    const bottom = v.band.map((b, i) => `${x(i)},${y(b.p50)}`).reverse();
    svg.append(s('polygon', { class: 'band', points: [...top, ...bottom].join(' ') }));
    svg.append(
      s('polyline', { class: 'p50', points: v.band.map((b, i) => `${x(i)},${y(b.p50)}`).join(' ') }),
    );
  }
  const acked = new Set(v.findings.filter((f) => f.acknowledged).map((f) => f.runId));
  for (const c of v.changePoints) {
    const cx = x(c.index);
    svg.append(
      s(
        'line',
        {
          class: `change-point${acked.has(c.runId) ? ' acknowledged' : ''}`,
          'data-run': c.runId,
          x1: cx,
          x2: cx,
          y1: 4,
          y2: H - B,
        },
        s(
          'title',
          {},
          `change point at run ${c.runId}: ${ms(c.before)} → ${ms(c.after)} (${(c.change * 100).toFixed(0)}%)`,
        ),
      ),
      s(
        'text',
        { class: 'cp-label', x: cx + 3, y: 14 },
        `${c.change >= 0 ? '+' : ''}${(c.change * 100).toFixed(0)}%`,
      ),
    );
  }
  v.points.forEach((p, i) => {
    svg.append(
      s(
        'circle',
        { class: 'pt', cx: x(i), cy: y(p.durationMs), r: 2.2 },
        s('title', {}, `${p.runId}: ${ms(p.durationMs)}`),
      ),
    );
  });
  return svg;
}
