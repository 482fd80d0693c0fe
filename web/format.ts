/** Numbers as people read them. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  if (v < 3_600_000) return `${Math.floor(v / 60_000)}m ${Math.round((v % 60_000) / 1000)}s`;
  return `${Math.floor(v / 3_600_000)}h ${Math.round((v % 3_600_000) / 60_000)}m`;
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`;
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function when(t: number | null | undefined): string {
  if (!t) return '–';
  const d = new Date(t);
  return `${d.toISOString().slice(0, 10)} ${d.toTimeString().slice(0, 8)}`;
}

/** "+12.0%" / "−3.1%" relative change, or ''. */
export function delta(cur: number | null, prev: number | null): string {
  if (cur === null || prev === null || !prev) return '';
  const c = cur / prev - 1;
  return `${c >= 0 ? '+' : '−'}${Math.abs(c * 100).toFixed(1)}%`;
}
