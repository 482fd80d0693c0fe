/**
 * Change-point detection quality on seeded series with known change points (analytics-series.ts):
 * recall within ±5 runs per step size and noise, false findings per 1,000 points, and the time
 * and peak memory of 5,000- and 20,000-point series in a process of their own. Where python3 can
 * import Apache Otava (its source on PYTHONPATH, or OTAVA_PATH), Otava runs on the same series
 * with its default parameters and its figures are printed beside ours.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectChangePoints } from '../src/analyze/change-points.js';
import { type BenchSeries, benchSeries, longSeries, score } from './analytics-series.js';
import type { BenchRow } from './lib/row.js';

/** A finding this close to the true change counts as finding it. */
const TOLERANCE = 5;

type Detector = 'slipway' | 'otava';

interface Group {
  label: string;
  /** Which true change points count. */
  has: (s: BenchSeries) => boolean;
  target?: { min: number; text: string };
}

const GROUPS: Group[] = [
  {
    label: 'steps ≥10%, noise ≤5%',
    has: (s) => s.family === 'step' && Math.abs(s.step!) >= 0.1 && s.noise <= 0.05,
    target: { min: 0.95, text: '>= 0.95' },
  },
  {
    label: 'steps 5%, noise 2%',
    has: (s) => s.family === 'step' && Math.abs(s.step!) < 0.1 && s.noise <= 0.02,
    target: { min: 0.7, text: '>= 0.70' },
  },
  {
    label: 'steps 5%, noise 5%',
    has: (s) => s.family === 'step' && Math.abs(s.step!) < 0.1 && s.noise === 0.05,
  },
  {
    label: 'steps ≥10%, noise 10%',
    has: (s) => s.family === 'step' && Math.abs(s.step!) >= 0.1 && s.noise === 0.1,
  },
  { label: 'steps 50%', has: (s) => s.family === 'step' && Math.abs(s.step!) === 0.5 },
  { label: 'several change points', has: (s) => s.family === 'multi' },
  { label: 'steps with 2-3× outliers', has: (s) => s.family === 'outliers' },
];

/** Otava's change points per series, or why it could not run. */
function runOtava(
  root: string,
  series: readonly number[][],
): { indexes: number[][]; seconds: number; maxRssBytes: number } | string {
  const script = join(root, 'bench', 'run-otava.py');
  const probe = spawnSync('python3', [script, '--probe'], { encoding: 'utf8' });
  if (probe.error) return `python3 not runnable (${probe.error.message})`;
  if (probe.status !== 0)
    return `python3 cannot import Apache Otava (${probe.stderr.trim().split('\n').at(-1)}); put its source on PYTHONPATH or set OTAVA_PATH`;
  const run = spawnSync('python3', [script], {
    input: JSON.stringify({ series }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.status !== 0) return `Otava failed: ${run.stderr.trim().split('\n').at(-1)}`;
  return JSON.parse(run.stdout) as { indexes: number[][]; seconds: number; maxRssBytes: number };
}

/** Our detector on one long series in a fresh node process: time and peak RSS. */
function runScaleChild(root: string, file: string): { indexes: number[]; ms: number; maxRssBytes: number } {
  const run = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'analytics-scale-child.js'), file], {
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`scale child failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { indexes: number[]; ms: number; maxRssBytes: number };
}

function qualityRows(
  series: readonly BenchSeries[],
  found: Record<Detector, number[][] | undefined>,
): BenchRow[] {
  const rows: BenchRow[] = [];
  const detectors = (Object.keys(found) as Detector[]).filter((d) => found[d]);
  for (const g of GROUPS) {
    for (const d of detectors) {
      let hit = 0;
      let total = 0;
      series.forEach((s, i) => {
        if (!g.has(s)) return;
        const r = score(s.truth, found[d]![i]!, TOLERANCE);
        hit += r.hits.filter(Boolean).length;
        total += s.truth.length;
      });
      if (!total) continue;
      const value = hit / total;
      rows.push({
        suite: 'analytics',
        case: `${g.label} (${total} change points)`,
        metric: `recall ±5 runs, ${d}`,
        value,
        ...(g.target && d === 'slipway' ? { target: g.target.text, pass: value >= g.target.min } : {}),
      });
    }
  }
  const falseRate = (d: Detector, keep: (s: BenchSeries) => boolean) => {
    let ff = 0;
    let points = 0;
    series.forEach((s, i) => {
      if (!keep(s)) return;
      ff += score(s.truth, found[d]![i]!, TOLERANCE).falseFindings;
      points += s.z.length;
    });
    return { perK: (ff / points) * 1000, ff, points };
  };
  const scopes: { label: string; keep: (s: BenchSeries) => boolean; target?: boolean }[] = [
    { label: 'all series but drift', keep: (s) => s.family !== 'drift', target: true },
    { label: 'flat series', keep: (s) => s.family === 'flat' },
    { label: 'load bursts of 3-4 runs', keep: (s) => s.family === 'bursts' },
    { label: 'drift (no step to find)', keep: (s) => s.family === 'drift' },
  ];
  for (const scope of scopes) {
    for (const d of detectors) {
      const r = falseRate(d, scope.keep);
      rows.push({
        suite: 'analytics',
        case: `${scope.label} (${r.points} points)`,
        metric: `false findings / 1000 points, ${d}`,
        value: r.perK,
        note: `${r.ff} findings`,
        ...(scope.target && d === 'slipway' ? { target: '<= 1', pass: r.perK <= 1 } : {}),
      });
    }
  }
  return rows;
}

function scaleRows(root: string, quick: boolean, otava: boolean): BenchRow[] {
  const rows: BenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-cp-'));
  try {
    for (const length of quick ? [5000] : [5000, 20000]) {
      const s = longSeries(length, length);
      const file = join(dir, `series-${length}.json`);
      writeFileSync(file, JSON.stringify({ z: s.z }));
      const ours = runScaleChild(root, file);
      const hits = score(s.truth, ours.indexes, TOLERANCE).hits.filter(Boolean).length;
      const big = length >= 20000;
      rows.push(
        {
          suite: 'analytics',
          case: `${length.toLocaleString('en')} points, ${s.truth.length} steps`,
          metric: 'time, slipway',
          value: ours.ms,
          unit: 'ms',
          ...(big ? { target: '< 1 s', pass: ours.ms < 1000 } : {}),
          note: `${hits}/${s.truth.length} steps found, ${ours.indexes.length - hits} other findings`,
        },
        {
          suite: 'analytics',
          case: `${length.toLocaleString('en')} points, ${s.truth.length} steps`,
          metric: 'peak RSS MB, slipway',
          value: ours.maxRssBytes / 1e6,
          ...(big ? { target: '< 200', pass: ours.maxRssBytes < 200e6 } : {}),
          note: 'whole node process',
        },
      );
      if (!otava) continue;
      const theirs = runOtava(root, [s.z]);
      if (typeof theirs === 'string') continue;
      const th = score(s.truth, theirs.indexes[0]!, TOLERANCE).hits.filter(Boolean).length;
      rows.push(
        {
          suite: 'analytics',
          case: `${length.toLocaleString('en')} points, ${s.truth.length} steps`,
          metric: 'time, otava',
          value: theirs.seconds * 1000,
          unit: 'ms',
          note: `${th}/${s.truth.length} steps found, ${theirs.indexes[0]!.length - th} other findings`,
        },
        {
          suite: 'analytics',
          case: `${length.toLocaleString('en')} points, ${s.truth.length} steps`,
          metric: 'peak RSS MB, otava',
          value: theirs.maxRssBytes / 1e6,
          note: 'whole python process',
        },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** Recall, false findings, scale; Otava's column when it can run. */
export function benchDetection(root: string, quick: boolean, log: (line: string) => void): BenchRow[] {
  const series = benchSeries(quick ? 0.25 : 1);
  const started = performance.now();
  const ours = series.map((s) => detectChangePoints(s.z).map((c) => c.index));
  log(
    `analytics: ${series.length} seeded series, slipway ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const otava = runOtava(
    root,
    series.map((s) => s.z),
  );
  if (typeof otava === 'string') log(`analytics: Otava skipped: ${otava}`);
  else log(`analytics: Otava on the same series ${otava.seconds.toFixed(1)} s`);
  const rows = qualityRows(series, {
    slipway: ours,
    otava: typeof otava === 'string' ? undefined : otava.indexes,
  });
  if (typeof otava === 'string')
    rows.push({ suite: 'analytics', case: 'Apache Otava', metric: 'skipped', value: 0, note: otava });
  rows.push(...scaleRows(root, quick, typeof otava !== 'string'));
  return rows;
}
