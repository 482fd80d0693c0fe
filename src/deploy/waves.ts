/** Rollout order: which regions switch together, and in which batches hosts switch inside a region. */

/**
 * Automatic waves: the smallest-traffic region alone first (the canary), then groups that double
 * (1, 2, 4, …) in order of growing traffic, so risk grows only as confidence does.
 */
export function planWaves(regions: { name: string; traffic: number }[]): string[][] {
  const order = [...regions]
    .sort((a, b) => a.traffic - b.traffic || a.name.localeCompare(b.name))
    .map((r) => r.name);
  const waves: string[][] = [];
  let size = 1;
  for (let i = 0; i < order.length; i += size, size *= 2) waves.push(order.slice(i, i + size));
  return waves;
}

/** Splits a region's hosts into batches that may be unavailable at the same time. */
export function batches<T>(hosts: T[], maxUnavailable: number): T[][] {
  const n = Math.max(1, Math.floor(maxUnavailable));
  const out: T[][] = [];
  for (let i = 0; i < hosts.length; i += n) out.push(hosts.slice(i, i + n));
  return out;
}
