/** Plain-text table rendering for bench results. */
import { type BenchRow, formatValue } from './row.js';

/** Renders rows as an aligned text table (one header line, one line per row). */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = ['suite', 'case', 'metric', 'value', 'target', 'ok', 'note'];
  const body = rows.map((r) => [
    r.suite,
    r.case,
    r.metric,
    formatValue(r.value, r.unit),
    r.target ?? '',
    r.pass === undefined ? '' : r.pass ? 'yes' : 'NO',
    r.note ?? '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 3 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}
