/**
 * Cost/performance curve for `slipway plan --what-if`: cost per run for each capacity and the knee
 * of the makespan curve (Kneedle, Satopää et al. 2011), the point past which more CPUs buy little.
 */

export interface CapacityPoint {
  cpus: number;
  makespanMs: number;
}

export interface CapacityRow extends CapacityPoint {
  /** Speed-up against the smallest capacity. */
  speedup: number;
  /** Speed-up per added CPU against the smallest capacity (1 = perfectly linear). */
  efficiency: number;
  /** cpus × makespan in hours × price; undefined without a price. */
  costPerRun?: number;
  knee: boolean;
}

/** Index of the knee of a decreasing curve by Kneedle; undefined when there are fewer than 3 points or no bend. */
export function kneeIndex(points: readonly CapacityPoint[]): number | undefined {
  if (points.length < 3) return undefined;
  const xs = points.map((p) => p.cpus);
  const ys = points.map((p) => p.makespanMs);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(...ys);
  const y1 = Math.max(...ys);
  if (x1 === x0 || y1 === y0) return undefined;
  let best: number | undefined;
  let bestDiff = 0;
  for (let i = 0; i < points.length; i++) {
    // Normalize, flip the decreasing curve into an increasing concave one, compare to the diagonal.
    const xn = (xs[i]! - x0) / (x1 - x0);
    const yn = 1 - (ys[i]! - y0) / (y1 - y0);
    const diff = yn - xn;
    // Strictly greater: on a tie the cheaper (smaller) capacity wins.
    if (diff > bestDiff + 1e-12) {
      bestDiff = diff;
      best = i;
    }
  }
  return best;
}

/** Rows sorted by cpus with cost per run (when a price is given) and the knee marked. */
export function capacityCurve(points: readonly CapacityPoint[], costPerCpuHour?: number): CapacityRow[] {
  const sorted = [...points].sort((a, b) => a.cpus - b.cpus);
  const knee = kneeIndex(sorted);
  const base = sorted[0];
  return sorted.map((p, i) => {
    const speedup = base && p.makespanMs > 0 ? base.makespanMs / p.makespanMs : 1;
    const row: CapacityRow = {
      cpus: p.cpus,
      makespanMs: p.makespanMs,
      speedup,
      efficiency: base ? speedup / (p.cpus / base.cpus) : 1,
      knee: i === knee,
    };
    if (costPerCpuHour !== undefined) row.costPerRun = p.cpus * (p.makespanMs / 3_600_000) * costPerCpuHour;
    return row;
  });
}
