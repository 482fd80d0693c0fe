/**
 * Analytics against real runs: what-if accuracy (the simulator's predicted makespan at
 * concurrency 1, 2 and 4 against measured runs) and one recommendation applied for real (enable
 * caching on a slow deterministic task) with measured savings against the prediction.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { median } from './lib/calibrate.js';
import type { BenchRow } from './lib/row.js';
import { tail, timed } from './lib/spawn.js';

async function slipway(root: string, dir: string, args: string[]): Promise<string> {
  const t = await timed(process.execPath, [join(root, 'bin', 'slipway.js'), ...args], {
    cwd: dir,
    env: { ...process.env, CI: '1', NO_COLOR: '1' },
  });
  if (t.code !== 0)
    throw new Error(`slipway ${args.join(' ')} failed (exit ${t.code}) in ${dir}:\n${tail(t)}`);
  return t.stdout;
}

/** `slipway run` and the run's duration from its summary. */
async function run(root: string, dir: string, args: string[]): Promise<number> {
  const file = join(dir, 'summary.json');
  await slipway(root, dir, ['run', ...args, '--summary', file]);
  const s = JSON.parse(await readFile(file, 'utf8')) as { durationMs: number; status: string };
  if (s.status !== 'success') throw new Error(`run ${args.join(' ')} did not succeed`);
  return s.durationMs;
}

/** Eight sleeping tasks in a small DAG: enough structure that 1, 2 and 4 slots schedule differently. */
const SLEEPS: Record<string, { s: number; needs?: string[] }> = {
  fetch: { s: 0.6 },
  lint: { s: 0.9 },
  types: { s: 0.7, needs: ['fetch'] },
  build: { s: 1.2, needs: ['fetch'] },
  unit: { s: 0.8, needs: ['build'] },
  docs: { s: 0.5, needs: ['fetch'] },
  e2e: { s: 1.0, needs: ['build', 'types'] },
  pack: { s: 0.4, needs: ['unit', 'e2e', 'lint', 'docs'] },
};

/** Predicted (plan --what-if) vs measured makespan at 1, 2 and 4 slots. */
export async function benchWhatIf(
  root: string,
  quick: boolean,
  log: (l: string) => void,
): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(os.tmpdir(), 'slipway-bench-whatif-'));
  const scale = quick ? 0.5 : 1;
  try {
    const tasks = Object.fromEntries(
      Object.entries(SLEEPS).map(([id, t]) => [
        id,
        { run: `sleep ${(t.s * scale).toFixed(2)}`, needs: t.needs ?? [], cache: false },
      ]),
    );
    writeFileSync(join(dir, 'slipway.yml'), stringify({ version: 1, tasks }));
    log(`analytics: what-if: history runs in ${dir}`);
    // History for predictions (the median of recent runs), at a concurrency not being measured.
    for (let i = 0; i < 3; i++) await run(root, dir, ['-c', '3']);
    const plan = JSON.parse(await slipway(root, dir, ['plan', '--what-if', 'cpus=1,2,4', '--json'])) as {
      whatIf: { cpus: number; makespanMs: number }[];
    };
    const rows: BenchRow[] = [];
    for (const c of [1, 2, 4]) {
      const predicted = plan.whatIf.find((w) => w.cpus === c)!.makespanMs;
      const measured = median([
        await run(root, dir, ['-c', String(c)]),
        await run(root, dir, ['-c', String(c)]),
      ]);
      const err = Math.abs(predicted - measured) / measured;
      log(
        `analytics: what-if c=${c}: predicted ${Math.round(predicted)} ms, measured ${Math.round(measured)} ms`,
      );
      rows.push({
        suite: 'analytics',
        case: `what-if c=${c} (8 sleeps)`,
        metric: '|predicted-measured|/measured',
        value: err * 100,
        unit: '%',
        target: '<= 15%',
        pass: err <= 0.15,
        note: `predicted ${Math.round(predicted)} ms, measured ${Math.round(measured)} ms (median of 3; load ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores)`,
      });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ReportJson {
  recommendations: { kind: string; target: string; savedMsPerRun: number; baselineMs: number }[];
}

/** The top recommendation (enable caching on `gen`) applied: measured savings against predicted. */
export async function benchRecommendation(
  root: string,
  quick: boolean,
  log: (l: string) => void,
): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(os.tmpdir(), 'slipway-bench-rec-'));
  const genSeconds = quick ? 1 : 2;
  const pipeline = (cache: boolean) =>
    stringify({
      version: 1,
      tasks: {
        // Deterministic and slow: same inputs every run, same output.
        gen: {
          run: `sleep ${genSeconds} && mkdir -p gen && echo generated > gen/out.txt`,
          inputs: ['schema.txt'],
          outputs: ['gen/**'],
          cache,
        },
        build: { run: 'sleep 0.5 && cat gen/out.txt > /dev/null', needs: ['gen'], cache: false },
        lint: { run: 'sleep 0.3', cache: false },
      },
    });
  try {
    writeFileSync(join(dir, 'schema.txt'), 'v1\n');
    writeFileSync(join(dir, 'slipway.yml'), pipeline(false));
    log(`analytics: recommendation: history runs in ${dir}`);
    const before: number[] = [];
    for (let i = 0; i < 4; i++) before.push(await run(root, dir, ['-c', '2']));
    const report = JSON.parse(await slipway(root, dir, ['report', '--json'])) as ReportJson;
    const rec = report.recommendations[0];
    if (rec?.kind !== 'enable-cache' || rec.target !== 'gen') {
      throw new Error(
        `expected "enable caching on gen" first, got ${JSON.stringify(report.recommendations.slice(0, 2))}`,
      );
    }
    writeFileSync(join(dir, 'slipway.yml'), pipeline(true));
    await run(root, dir, ['-c', '2']); // fills the cache
    const after: number[] = [];
    for (let i = 0; i < 3; i++) after.push(await run(root, dir, ['-c', '2']));
    const measured = median(before) - median(after);
    const err = Math.abs(measured - rec.savedMsPerRun) / rec.savedMsPerRun;
    log(
      `analytics: enable-cache on gen: predicted ${Math.round(rec.savedMsPerRun)} ms saved, measured ${Math.round(measured)} ms`,
    );
    return [
      {
        suite: 'analytics',
        case: 'recommendation applied: enable caching on gen',
        metric: '|measured-predicted|/predicted',
        value: err * 100,
        unit: '%',
        target: '<= 25%',
        pass: err <= 0.25,
        note: `predicted ${Math.round(rec.savedMsPerRun)} ms/run, measured ${Math.round(measured)} ms/run (medians: ${Math.round(median(before))} → ${Math.round(median(after))} ms)`,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
