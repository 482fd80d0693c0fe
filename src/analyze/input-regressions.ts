/**
 * `slipway regressions --input FILE`: change points in any metric series (benchmark results from
 * anywhere), by the same detector and options as history, printed the same way.
 */
import { type ChangePointOptions, detectChangePoints } from './change-points.js';
import { pValue, signedPct } from './format.js';
import { type StepStats, stepStats } from './regressions.js';
import type { InputSeries } from './series-input.js';

export interface InputFinding extends StepStats {
  metric: string;
  /** Position in the metric's series of the first point of the new regime. */
  index: number;
  /** Time (ISO) and file line of that point, and its attributes (e.g. commit). */
  time: string;
  line: number;
  attributes: Record<string, string>;
  /** Time of the last point of the old regime. */
  previousTime: string | null;
  direction: 'higher' | 'lower';
}

export interface InputScan {
  input: string;
  rows: number;
  series: { metric: string; points: number }[];
  findings: InputFinding[];
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Change points of every series. */
export function scanInput(
  input: string,
  rows: number,
  series: readonly InputSeries[],
  opts: ChangePointOptions = {},
): InputScan {
  const findings: InputFinding[] = [];
  for (const s of series) {
    const cps = detectChangePoints(
      s.points.map((p) => p.value),
      opts,
    );
    for (const cp of cps) {
      const at = s.points[cp.index]!;
      const prev = s.points[cp.index - 1];
      findings.push({
        metric: s.metric,
        index: cp.index,
        time: iso(at.time),
        line: at.line,
        attributes: at.attributes,
        previousTime: prev ? iso(prev.time) : null,
        direction: cp.change >= 0 ? 'higher' : 'lower',
        ...stepStats(cp),
      });
    }
  }
  return {
    input,
    rows,
    series: series.map((s) => ({ metric: s.metric, points: s.points.length })),
    findings,
  };
}

function num(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

/** Terminal form: one line per change point, as `slipway regressions` prints history findings. */
export function inputScanText(scan: InputScan): string {
  const out: string[] = [];
  for (const f of scan.findings) {
    const attrs = Object.entries(f.attributes)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    out.push(
      `${f.metric}  ${f.direction} ${signedPct(f.change)}  ${num(f.meanBefore)} → ${num(f.meanAfter)}  from ${f.time}${attrs ? ` (${attrs})` : ''} line ${f.line}  p=${pValue(f.pValue)}  ${f.samplesBefore} before / ${f.samplesAfter} after`,
    );
  }
  const points = scan.series.map((s) => `${s.metric} ${s.points}`).join(', ');
  out.push(
    `${scan.findings.length ? '' : 'no change points detected '}(${scan.input}: ${scan.rows} rows; points per metric: ${points})`,
  );
  return `${out.join('\n')}\n`;
}
