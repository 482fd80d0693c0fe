/**
 * The run Gantt as SVG: per task its actual bar (coloured by outcome, hatched for cache hits,
 * outlined when on the critical path), the predicted duration as a ghost behind it, the lower
 * bound as a vertical line, and the pool's CPU use under the bars.
 */
import type { GanttTask, RunView } from '../src/dashboard/views.js';
import { s } from './dom.js';
import { ms } from './format.js';

const ROW = 20;
const LABEL = 170;
const AXIS = 22;
const POOL = 56;

function ticks(span: number): number[] {
  const steps = [
    100, 250, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000,
    3_600_000,
  ];
  const step = steps.find((x) => span / x <= 8) ?? 3_600_000;
  const out: number[] = [];
  for (let t = 0; t <= span; t += step) out.push(t);
  return out;
}

function end(t: GanttTask, now: number): number | null {
  if (t.startedAt === null) return null;
  return t.endedAt ?? (t.status === 'running' ? now : t.startedAt);
}

/** Average cores in use over time: each task's CPU seconds spread over its interval. */
function poolSteps(tasks: readonly GanttTask[], now: number): { at: number; cores: number }[] {
  const edges: { at: number; d: number }[] = [];
  for (const t of tasks) {
    const e = end(t, now);
    if (t.startedAt === null || e === null || e <= t.startedAt || t.cpuSeconds === null) continue;
    const cores = (t.cpuSeconds * 1000) / (e - t.startedAt);
    edges.push({ at: t.startedAt, d: cores }, { at: e, d: -cores });
  }
  edges.sort((a, b) => a.at - b.at);
  let cur = 0;
  return edges.map((x) => {
    cur += x.d;
    return { at: x.at, cores: Math.max(0, cur) };
  });
}

export function gantt(v: RunView, width: number): SVGElement {
  const { run, tasks, now } = v;
  const t0 = run.startedAt;
  const last = Math.max(
    t0 + 1,
    run.endedAt ?? now,
    ...tasks.map((t) => (t.startedAt ?? t0) + (t.predictedMs ?? 0)),
    ...tasks.map((t) => end(t, now) ?? t0),
    t0 + (run.lowerBoundMs ?? 0),
  );
  const span = last - t0;
  const plotW = Math.max(200, width - LABEL - 10);
  const x = (t: number) => LABEL + ((t - t0) / span) * plotW;
  const w = (d: number) => Math.max(1.5, (d / span) * plotW);
  const height = AXIS + tasks.length * ROW + POOL + 16;
  const svg = s('svg', {
    class: 'gantt',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': `Gantt of run ${run.id}`,
  });
  svg.append(
    s(
      'defs',
      {},
      s(
        'pattern',
        { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
        s('rect', { width: 6, height: 6, class: 'hatch-bg' }),
        s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }),
      ),
    ),
  );
  for (const t of ticks(span)) {
    svg.append(
      s('line', { x1: x(t0 + t), x2: x(t0 + t), y1: AXIS - 4, y2: AXIS + tasks.length * ROW, class: 'grid' }),
      s('text', { x: x(t0 + t), y: AXIS - 8, class: 'tick', 'text-anchor': 'middle' }, ms(t)),
    );
  }
  tasks.forEach((t, i) => {
    const y = AXIS + i * ROW;
    const g = s('g', {
      class: `task-row status-${t.status}${t.critical ? ' critical' : ''}${t.cacheHit ? ' cache-hit' : ''}`,
      'data-task': t.id,
      'data-status': t.status,
      'data-critical': String(t.critical),
      'data-cache-hit': String(t.cacheHit),
    });
    const label = t.id.length > 24 ? `${t.id.slice(0, 23)}…` : t.id;
    g.append(
      s(
        'text',
        { x: LABEL - 6, y: y + ROW - 6, class: 'task-label', 'text-anchor': 'end' },
        label,
        s('title', {}, t.id),
      ),
    );
    if (t.startedAt !== null && t.predictedMs !== null)
      g.append(
        s('rect', {
          class: 'ghost',
          x: x(t.startedAt),
          y: y + 3,
          width: w(t.predictedMs),
          height: ROW - 6,
          rx: 2,
        }),
      );
    const e = end(t, now);
    if (t.startedAt !== null && e !== null) {
      const title = `${t.id}: ${t.status}${t.cacheHit ? ` (cache ${t.cache})` : ''}, ${ms(t.durationMs ?? e - t.startedAt)}${t.predictedMs !== null ? `, predicted ${ms(t.predictedMs)}` : ''}${t.critical ? ', on the critical path' : ''}`;
      g.append(
        s(
          'rect',
          {
            class: `bar${t.cacheHit ? ' hit' : ''}`,
            x: x(t.startedAt),
            y: y + 5,
            width: w(e - t.startedAt),
            height: ROW - 10,
            rx: 2,
          },
          s('title', {}, title),
        ),
      );
    }
    svg.append(g);
  });
  if (run.lowerBoundMs) {
    const lx = x(t0 + run.lowerBoundMs);
    svg.append(
      s('line', { class: 'lower-bound', x1: lx, x2: lx, y1: AXIS - 4, y2: AXIS + tasks.length * ROW }),
      s(
        'text',
        {
          class: 'lower-bound-label',
          x: lx > width - 120 ? lx - 3 : lx + 3,
          y: AXIS + 8,
          'text-anchor': lx > width - 120 ? 'end' : 'start',
        },
        `lower bound ${ms(run.lowerBoundMs)}`,
      ),
    );
  }
  // The pool's CPU use under the bars.
  const steps = poolSteps(tasks, now);
  const py = AXIS + tasks.length * ROW + 10;
  const cap = Math.max(run.capacityCpu, ...steps.map((p) => p.cores), 1);
  const yOf = (c: number) => py + POOL - (c / cap) * POOL;
  let d = `M${x(t0)},${yOf(0)}`;
  let prev = 0;
  for (const p of steps) {
    d += ` L${x(p.at)},${yOf(prev)} L${x(p.at)},${yOf(p.cores)}`;
    prev = p.cores;
  }
  d += ` L${x(last)},${yOf(prev)} L${x(last)},${yOf(0)} Z`;
  svg.append(
    s('line', {
      class: 'grid',
      x1: LABEL,
      x2: LABEL + plotW,
      y1: yOf(run.capacityCpu),
      y2: yOf(run.capacityCpu),
    }),
    s('path', { class: 'pool', d }),
    s(
      'text',
      { class: 'task-label', x: LABEL - 6, y: py + POOL / 2, 'text-anchor': 'end' },
      `CPU (of ${run.capacityCpu})`,
    ),
  );
  return svg;
}
