/** Small formatters shared by the analytics renderers. */
import { formatMs } from '../util/units.js';
import type { SliResult } from './slis.js';

/** "12.3%" (or "-" for null). */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(digits)}%`;
}

/** "+30.1%" for a relative change. */
export function signedPct(x: number): string {
  return `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
}

/** Milliseconds or "-". */
export function ms(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : formatMs(x);
}

/** p-values in scientific notation below 0.001. */
export function pValue(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

export const SLI_LABELS: Record<SliResult['name'], string> = {
  availability: 'availability',
  deploymentDurationP95: 'p95 deployment duration',
  resourceEfficiency: 'resource efficiency',
  deploymentFailureRate: 'deployment failure rate',
  recoveryTime: 'recovery time (mean)',
  pipelineSuccessRate: 'pipeline success rate',
};

/** Value and target of an SLI in its unit. */
export function sliValue(s: SliResult): { value: string; target: string } {
  const f = (v: number | null) => (s.unit === 'ms' ? ms(v) : pct(v, s.name === 'resourceEfficiency' ? 0 : 2));
  const op =
    s.name === 'availability' || s.name === 'resourceEfficiency' || s.name === 'pipelineSuccessRate'
      ? '≥'
      : '≤';
  return { value: f(s.value), target: `${op} ${f(s.target)}` };
}

/** Short table padding. */
export function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}
