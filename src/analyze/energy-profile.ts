/**
 * The energy statistic Q̂ of every split of one stretch, in O(L log L) time and O(L) memory.
 *
 * E-Divisive's table form (e-divisive.ts, Otava's `PairDistanceCalculator`) keeps all pairwise
 * distance sums: fine for a window of 50, fatal for a stretch of 20,000 (an (L+1)² array of
 * 3.2 GB). Re-locating a change point only needs Q̂(X = z[0, τ), Y = z[τ, L)) for each τ with the
 * stretch's end fixed, and each of its three sums grows by one point at a time:
 *   within(0, τ) = within(0, τ − 1) + Σ_{i<τ−1} |z_{τ−1} − z_i|,
 * where Σ_i |x − z_i| = x·(#below) − Σbelow + Σabove − x·(#above) comes from two Fenwick trees
 * over the ranks of the values (counts and sums). The suffix sums run the same way from the
 * right, and cross = within(0, L) − within(0, τ) − within(τ, L).
 */

/** Fenwick (binary indexed) tree of counts and sums over value ranks. */
class RankTree {
  private readonly count: Int32Array;
  private readonly sum: Float64Array;
  private n = 0;
  private total = 0;

  constructor(private readonly size: number) {
    this.count = new Int32Array(size + 1);
    this.sum = new Float64Array(size + 1);
  }

  add(rank: number, value: number): void {
    this.n++;
    this.total += value;
    for (let i = rank + 1; i <= this.size; i += i & -i) {
      this.count[i]!++;
      this.sum[i]! += value;
    }
  }

  /** Σ |x − v| over the values added so far; `rank` is x's rank. */
  distanceSum(rank: number, x: number): number {
    let below = 0;
    let belowSum = 0;
    for (let i = rank + 1; i > 0; i -= i & -i) {
      below += this.count[i]!;
      belowSum += this.sum[i]!;
    }
    return x * below - belowSum + (this.total - belowSum) - x * (this.n - below);
  }
}

/** Ranks of the values (equal values share a rank) and the number of distinct ranks. */
function ranks(z: ArrayLike<number>): { rank: Int32Array; size: number } {
  const order = Array.from({ length: z.length }, (_, i) => i).sort((a, b) => z[a]! - z[b]!);
  const rank = new Int32Array(z.length);
  let r = -1;
  let last = Number.NaN;
  for (const i of order) {
    if (z[i] !== last) {
      r++;
      last = z[i]!;
    }
    rank[i] = r;
  }
  return { rank, size: r + 1 };
}

/**
 * Q̂ of z[0, τ) against z[τ, L) for τ = 0 … L (entries 0 and L are −∞: one side would be empty);
 * the same values as `EnergyCalculator.qhat(0, τ, L)`.
 */
export function energyProfile(z: ArrayLike<number>): Float64Array {
  const L = z.length;
  const q = new Float64Array(L + 1).fill(Number.NEGATIVE_INFINITY);
  if (L < 2) return q;
  const { rank, size } = ranks(z);
  // within(0, τ) for every τ.
  const prefix = new Float64Array(L + 1);
  let tree = new RankTree(size);
  for (let t = 0; t < L; t++) {
    prefix[t + 1] = prefix[t]! + tree.distanceSum(rank[t]!, z[t]!);
    tree.add(rank[t]!, z[t]!);
  }
  const whole = prefix[L]!;
  tree = new RankTree(size);
  let suffix = 0; // within(τ, L), τ running down from L
  for (let tau = L - 1; tau >= 1; tau--) {
    suffix += tree.distanceSum(rank[tau]!, z[tau]!);
    tree.add(rank[tau]!, z[tau]!);
    const n = tau;
    const m = L - tau;
    const wx = prefix[tau]!;
    const cross = whole - wx - suffix;
    let v = (2 / L) * cross;
    if (n > 1) v -= ((2 * m) / (L * (n - 1))) * wx;
    if (m > 1) v -= ((2 * n) / (L * (m - 1))) * suffix;
    q[tau] = v;
  }
  return q;
}
