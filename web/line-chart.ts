/**
 * A small SVG line chart: series over a shared x axis, horizontal reference lines (targets,
 * thresholds) and optional dots, with ticks on both axes. Every page's curves use it.
 */
import { s } from './dom.js';

export interface Series {
  name: string;
  /** CSS class of the line (and its dots). */
  cls: string;
  ys: (number | null)[];
  dots?: boolean;
  /** Extra attributes per dot (e.g. data-cpus), and its tooltip. */
  dot?: (i: number) => { attrs?: Record<string, string | number>; title?: string; cls?: string };
}

export interface LineChartOptions {
  cls: string;
  label: string;
  width: number;
  height?: number;
  xs: number[];
  series: Series[];
  xTick: (x: number) => string;
  yTick: (y: number) => string;
  yMin?: number;
  yMax?: number;
  refs?: { y: number; cls: string; label: string }[];
  /** Log-scale x (capacities 1, 2, 4 …). */
  logX?: boolean;
}

export function lineChart(o: LineChartOptions): SVGElement {
  const H = o.height ?? 200;
  const L = 56;
  const R = 12;
  const T = 10;
  const B = 22;
  const W = o.width;
  const fx = (x: number) => (o.logX ? Math.log2(Math.max(x, 1e-9)) : x);
  const xv = o.xs.map(fx);
  const x0 = Math.min(...xv);
  const x1 = Math.max(...xv);
  const all = o.series.flatMap((sr) => sr.ys.filter((y): y is number => y !== null && Number.isFinite(y)));
  const refs = o.refs ?? [];
  const yMin = o.yMin ?? Math.min(0, ...all, ...refs.map((r) => r.y));
  const yMax = o.yMax ?? Math.max(yMin + 1e-9, ...all, ...refs.map((r) => r.y)) * 1.08;
  const x = (v: number) => L + (x1 === x0 ? (W - L - R) / 2 : ((fx(v) - x0) / (x1 - x0)) * (W - L - R));
  const y = (v: number) => T + (1 - (Math.min(Math.max(v, yMin), yMax) - yMin) / (yMax - yMin)) * (H - T - B);
  const svg = s('svg', {
    class: `line-chart ${o.cls}`,
    width: W,
    height: H,
    viewBox: `0 0 ${W} ${H}`,
    role: 'img',
    'aria-label': o.label,
  });
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) / 4) * k;
    svg.append(
      s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s('text', { class: 'tick', x: L - 4, y: y(v) + 4, 'text-anchor': 'end' }, o.yTick(v)),
    );
  }
  const ticks = o.logX ? o.xs : [0, 0.25, 0.5, 0.75, 1].map((f) => o.xs[Math.round(f * (o.xs.length - 1))]!);
  for (const t of new Set(ticks))
    svg.append(s('text', { class: 'tick', x: x(t), y: H - 6, 'text-anchor': 'middle' }, o.xTick(t)));
  for (const r of refs)
    svg.append(
      s('line', { class: `ref ${r.cls}`, x1: L, x2: W - R, y1: y(r.y), y2: y(r.y) }),
      s('text', { class: `ref-label ${r.cls}`, x: W - R - 2, y: y(r.y) - 3, 'text-anchor': 'end' }, r.label),
    );
  for (const sr of o.series) {
    const pts = sr.ys
      .map((v, i) => (v === null || !Number.isFinite(v) ? null : `${x(o.xs[i]!)},${y(v)}`))
      .filter((p) => p !== null);
    svg.append(s('polyline', { class: `series ${sr.cls}`, 'data-series': sr.name, points: pts.join(' ') }));
    if (sr.dots)
      sr.ys.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) return;
        const d = sr.dot?.(i) ?? {};
        svg.append(
          s(
            'circle',
            {
              class: `pt ${sr.cls} ${d.cls ?? ''}`.trim(),
              cx: x(o.xs[i]!),
              cy: y(v),
              r: 4,
              ...(d.attrs ?? {}),
            },
            d.title ? s('title', {}, d.title) : null,
          ),
        );
      });
  }
  return svg;
}
