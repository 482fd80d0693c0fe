/**
 * Cache bench: the same generated npm workspace (400 packages × 20 source files by default) run
 * by Turborepo (its native binary) and by Slipway, each in its own copy: a fully cached run,
 * a restore after deleting every output, and a one-file change. Reports Slipway/turbo ratios.
 * Run alone: `node dist/bench/cache.js [--quick]`.
 */
import { appendFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CacheRepo, writeCacheRepo } from './cache-workspace.js';
import { median, npmVersion } from './lib/calibrate.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { tail, timed } from './lib/spawn.js';

const turboEnv = {
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  TURBO_PRINT_VERSION_DISABLED: '1',
};

/** turbo's platform binary, not the node shim in node_modules/.bin (which adds a node start-up). */
export function turboBinary(root: string): string {
  const arch = process.arch === 'x64' ? '64' : process.arch;
  const native = join(root, 'node_modules', '@turbo', `${process.platform}-${arch}`, 'bin', 'turbo');
  return existsSync(native) ? native : join(root, 'node_modules', '.bin', 'turbo');
}

type Tool = 'turbo' | 'slipway';

async function runTool(tool: Tool, root: string, repo: CacheRepo, concurrency: number): Promise<number> {
  const t =
    tool === 'turbo'
      ? await timed(
          turboBinary(root),
          ['run', 'build', '--concurrency', String(concurrency), '--ui', 'stream'],
          {
            cwd: repo.dir,
            env: { ...process.env, ...turboEnv },
          },
        )
      : await timed(
          process.execPath,
          [join(root, 'bin', 'slipway.js'), 'run', 'build', '-c', String(concurrency)],
          {
            cwd: repo.dir,
            env: { ...process.env, CI: '1' },
          },
        );
  if (t.code !== 0) throw new Error(`${tool} failed (exit ${t.code}) in ${repo.dir}:\n${tail(t)}`);
  return t.wallMs;
}

function deleteOutputs(repo: CacheRepo): void {
  for (const n of readdirSync(join(repo.dir, 'packages'))) {
    rmSync(join(repo.dir, 'packages', n, 'dist'), { recursive: true, force: true });
  }
}

let edits = 0;
function editOneFile(repo: CacheRepo): void {
  appendFileSync(join(repo.dir, 'packages', repo.editTarget, 'src', 'f00.js'), `// edit ${++edits}\n`);
}

/** Median of `reps` timed runs, each after `prepare`. */
async function measure(
  tool: Tool,
  root: string,
  repo: CacheRepo,
  reps: number,
  concurrency: number,
  prepare: (r: CacheRepo) => void = () => {},
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    prepare(repo);
    times.push(await runTool(tool, root, repo, concurrency));
  }
  return median(times);
}

/** Entry point for `npm run bench` (bench/run.ts). */
export async function benchCache(options: BenchOptions): Promise<BenchRow[]> {
  const { root, log, quick } = options;
  const spec = {
    packages: quick ? 60 : 400,
    files: 20,
    layers: quick ? 6 : 20,
    npmVersion: await npmVersion(),
  };
  const reps = quick ? 1 : 3;
  const concurrency = 4;
  const repos = { turbo: writeCacheRepo(spec), slipway: writeCacheRepo(spec) };
  const label = `${spec.packages} pkgs × ${spec.files} files`;
  log(`cache: ${label}; turbo in ${repos.turbo.dir}, slipway in ${repos.slipway.dir}`);
  const rows: BenchRow[] = [];
  try {
    const times: Record<string, Record<Tool, number>> = {};
    for (const tool of ['turbo', 'slipway'] as const) {
      const repo = repos[tool];
      log(`cache: ${tool}: populating (every task runs once)`);
      const cold = await runTool(tool, root, repo, concurrency);
      // One more cached run settles first-run work (index refresh, fingerprints) for both tools.
      await runTool(tool, root, repo, concurrency);
      log(`cache: ${tool}: cold run ${Math.round(cold)} ms; measuring`);
      const cached = await measure(tool, root, repo, reps, concurrency);
      const restore = await measure(tool, root, repo, reps, concurrency, deleteOutputs);
      const change = await measure(tool, root, repo, reps, concurrency, editOneFile);
      for (const [k, v] of Object.entries({ cold, cached, restore, change })) {
        times[k] ??= { turbo: Number.NaN, slipway: Number.NaN };
        (times[k] as Record<Tool, number>)[tool] = v;
      }
    }
    const add = (c: string, key: string, target?: number) => {
      const t = times[key] as Record<Tool, number>;
      const ratio = t.slipway / t.turbo;
      rows.push({ suite: 'cache', case: `${c} (${label})`, metric: 'turbo', value: t.turbo, unit: 'ms' });
      rows.push({ suite: 'cache', case: `${c} (${label})`, metric: 'slipway', value: t.slipway, unit: 'ms' });
      rows.push({
        suite: 'cache',
        case: `${c} (${label})`,
        metric: 'slipway/turbo',
        value: ratio,
        unit: 'x',
        ...(target !== undefined ? { target: `<= ${target.toFixed(2)}`, pass: ratio <= target } : {}),
      });
    };
    add('fully cached', 'cached', 1.0);
    add('restore after deleting outputs', 'restore');
    add(`one-file change (${repos.slipway.affected} tasks rerun)`, 'change');
    add('cold (informational)', 'cold');
  } finally {
    for (const r of Object.values(repos)) rmSync(r.dir, { recursive: true, force: true });
  }
  return rows;
}

// Alone: `node dist/bench/cache.js [--quick]`.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
  benchCache({
    root,
    quick: process.argv.includes('--quick'),
    log: (l) => process.stderr.write(`${l}\n`),
  }).then(
    (rows) => {
      for (const r of rows) {
        process.stdout.write(
          `${r.case.padEnd(60)} ${r.metric.padEnd(14)} ${r.unit === 'x' ? r.value.toFixed(2) : Math.round(r.value)}${r.unit === 'ms' ? ' ms' : ''}${r.target ? `  (target ${r.target}: ${r.pass ? 'ok' : 'MISSED'})` : ''}\n`,
        );
      }
      if (rows.some((r) => r.pass === false)) process.exitCode = 1;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
