/**
 * Cache bench: the same generated npm workspace (400 packages × 20 source files by default) run
 * by Turborepo (its native binary) and by Slipway, each in its own copy: a fully cached run,
 * a restore after deleting every output, and a one-file change. Then a fully cached run on a
 * second, independently shaped 400-package workspace (independent-workspace.ts), so the target
 * is not met only on the repository the cache was tuned on. Reports Slipway/turbo ratios. The
 * fully cached runs are timed twice for Slipway: served by its daemon (warm: the bench waits
 * until it has a spare ready, as it has between a person's commands) and in the client's own
 * process (`SLIPWAY_DAEMON=0`); turbo 2.x has no daemon for `turbo run`, so its native binary is
 * timed as it runs. Slipway is started as a user's shell starts it: bin/slipway.js executed, whose
 * launcher runs the daemon's native client when it was compiled. Run alone:
 * `node dist/bench/cache.js [--quick]`.
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askDaemon } from '../src/daemon/control.js';
import { type CacheRepo, writeCacheRepo } from './cache-workspace.js';
import { writeIndependentRepo } from './independent-workspace.js';
import { runAlone } from './lib/alone.js';
import { median, npmVersion } from './lib/calibrate.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { turboBinary } from './lib/runners.js';
import { tail, timed } from './lib/spawn.js';

const turboEnv = {
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  TURBO_PRINT_VERSION_DISABLED: '1',
};

/** `slipway` runs in its own process; `daemon` is Slipway served by its warm daemon. */
type Tool = 'turbo' | 'slipway' | 'daemon';
type Copy = 'turbo' | 'slipway';
/** Which repository copy a tool runs in (Slipway's two ways share one). */
const copyOf = (tool: Tool): Copy => (tool === 'turbo' ? 'turbo' : 'slipway');

/**
 * A private copy of the built CLI (dist, bin, package.json; node_modules linked), so a
 * rebuild of the shared tree during a long bench cannot change what is measured mid-run.
 */
function freezeSlipway(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-cli-'));
  cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** `root` is the repository (for turbo's binary); `cli` the frozen Slipway copy. */
async function runTool(
  tool: Tool,
  root: string,
  repo: CacheRepo,
  concurrency: number,
  cli = root,
): Promise<number> {
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
          // As a user's shell runs it: bin/slipway.js executed, whose /bin/sh launcher runs the
          // daemon's native client (falling back to `node bin/slipway.js`, as it does at once
          // with SLIPWAY_DAEMON=0).
          join(cli, 'bin', 'slipway.js'),
          ['run', 'build', '-c', String(concurrency)],
          {
            cwd: repo.dir,
            env: { ...process.env, CI: '1', SLIPWAY_DAEMON: tool === 'daemon' ? '1' : '0' },
          },
        );
  if (t.code !== 0) throw new Error(`${tool} failed (exit ${t.code}) in ${repo.dir}:\n${tail(t)}`);
  // The daemon loads its next spare once a command ends: wait for it, outside the timing, so it
  // neither slows the next timed run (of either tool) nor is skipped.
  if (tool === 'daemon') await daemonReady(repo.dir);
  return t.wallMs;
}

async function daemonReady(dir: string): Promise<void> {
  for (const until = Date.now() + 60_000; Date.now() < until; ) {
    if (((await askDaemon(dir, 'status'))?.ready ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the daemon in ${dir} has no spare ready after 60 s`);
}

/** Starts the frozen CLI's daemon in `dir` and waits until it is warm; returns its stop. */
async function withDaemon(cli: string, dir: string): Promise<() => Promise<void>> {
  const bin = join(cli, 'bin', 'slipway.js');
  const start = await timed(process.execPath, [bin, 'daemon', 'start'], { cwd: dir });
  if (start.code !== 0) throw new Error(`slipway daemon start failed in ${dir}:\n${tail(start)}`);
  await daemonReady(dir);
  return async () => {
    await timed(process.execPath, [bin, 'daemon', 'stop'], { cwd: dir });
  };
}

function deleteOutputs(repo: CacheRepo): void {
  for (const n of readdirSync(join(repo.dir, 'packages'))) {
    rmSync(join(repo.dir, 'packages', n, 'dist'), { recursive: true, force: true });
  }
}

const edits = new Map<string, number>();
/** Appends a new line to one source file: a content never seen before, so a real miss. */
function editOneFile(repo: CacheRepo): void {
  const n = (edits.get(repo.dir) ?? 0) + 1;
  edits.set(repo.dir, n);
  appendFileSync(join(repo.dir, 'packages', repo.editTarget, 'src', 'f00.js'), `// edit ${n}\n`);
}

/**
 * Median of `reps` timed runs per tool, each after `prepare`. The tools alternate run by run so
 * both see the same background load (the machine is shared), and `ratio` is the median of the
 * per-pair ratios (slipway's run over the turbo run just before it): load that drifts during the
 * measurement moves both runs of a pair, so it cancels out of the ratio.
 */
async function measureBoth(
  root: string,
  cli: string,
  repos: Record<Copy, CacheRepo>,
  reps: number,
  concurrency: number,
  prepare: (r: CacheRepo) => void = () => {},
  withFloor = false,
  tools: readonly Tool[] = ['turbo', 'slipway'],
): Promise<Measured> {
  const times: Record<Tool, number[]> = { turbo: [], slipway: [], daemon: [] };
  const floor: number[] = [];
  for (let i = 0; i < reps; i++) {
    for (const tool of tools) {
      prepare(repos[copyOf(tool)]);
      times[tool].push(await runTool(tool, root, repos[copyOf(tool)], concurrency, cli));
    }
    // What any Node.js CLI pays before and after its first line: start an empty script, exit.
    if (withFloor)
      floor.push((await timed(process.execPath, ['-e', '0'], { cwd: repos.slipway.dir })).wallMs);
  }
  const ratio = (t: number[]) => median(t.map((s, i) => s / times.turbo[i]!));
  return {
    turbo: median(times.turbo),
    slipway: median(times.slipway),
    ratio: ratio(times.slipway),
    ...(times.daemon.length ? { daemon: median(times.daemon), daemonRatio: ratio(times.daemon) } : {}),
    ...(withFloor ? { floor: median(floor) } : {}),
  };
}

interface Measured {
  turbo: number;
  slipway: number;
  /** Median of the per-pair ratios slipway/turbo. */
  ratio: number;
  daemon?: number;
  daemonRatio?: number;
  floor?: number;
}

const CACHED_TOOLS: readonly Tool[] = ['turbo', 'daemon', 'slipway'];

/** The fully cached case, Slipway timed both through its warm daemon and in its own process. */
async function measureCached(
  root: string,
  cli: string,
  repos: Record<Copy, CacheRepo>,
  reps: number,
  concurrency: number,
  withFloor: boolean,
): Promise<Measured> {
  const stop = await withDaemon(cli, repos.slipway.dir);
  try {
    return await measureBoth(root, cli, repos, reps, concurrency, undefined, withFloor, CACHED_TOOLS);
  } finally {
    await stop();
  }
}

/** Rows for a fully cached case: the daemon's ratio carries the target; the in-process one is shown beside it. */
function cachedRows(c: string, t: Measured): BenchRow[] {
  const rows: BenchRow[] = [
    { suite: 'cache', case: c, metric: 'turbo', value: t.turbo, unit: 'ms' },
    { suite: 'cache', case: c, metric: 'slipway (daemon)', value: t.daemon ?? Number.NaN, unit: 'ms' },
    { suite: 'cache', case: c, metric: 'slipway --no-daemon', value: t.slipway, unit: 'ms' },
    {
      suite: 'cache',
      case: c,
      metric: 'slipway (daemon)/turbo',
      value: t.daemonRatio ?? Number.NaN,
      unit: 'x',
      target: `<= ${CACHED_TARGET.toFixed(2)}`,
      pass: (t.daemonRatio ?? Number.POSITIVE_INFINITY) <= CACHED_TARGET,
    },
    { suite: 'cache', case: c, metric: 'slipway --no-daemon/turbo', value: t.ratio, unit: 'x' },
  ];
  return rows;
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
  const reps = quick ? 1 : 7;
  // A fully cached run takes a fraction of a second and is the noisiest case: more pairs (with
  // --quick too: at 60 packages it is the case the target is hardest on, and cheap to repeat).
  const cachedReps = quick ? 11 : 21;
  const concurrency = 4;
  const repos = { turbo: writeCacheRepo(spec), slipway: writeCacheRepo(spec) };
  const cli = freezeSlipway(root);
  const label = `${spec.packages} pkgs × ${spec.files} files`;
  log(`cache: ${label}; turbo in ${repos.turbo.dir}, slipway in ${repos.slipway.dir}`);
  const rows: BenchRow[] = [];
  try {
    const cold = { turbo: 0, slipway: 0, ratio: 0 };
    for (const tool of ['turbo', 'slipway'] as const) {
      log(`cache: ${tool}: populating (every task runs once)`);
      cold[tool] = await runTool(tool, root, repos[tool], concurrency, cli);
      cold.ratio = cold.slipway / cold.turbo;
      // One more run settles first-run work (git index refresh, fingerprints) for both tools.
      await runTool(tool, root, repos[tool], concurrency, cli);
    }
    log('cache: measuring (tools alternate run by run)');
    const times: Record<string, Measured> = {
      cold,
      cached: await measureCached(root, cli, repos, cachedReps, concurrency, true),
      restore: await measureBoth(root, cli, repos, reps, concurrency, deleteOutputs),
      change: await measureBoth(root, cli, repos, reps, concurrency, editOneFile),
    };
    const add = (c: string, key: string) => {
      const t = times[key]!;
      rows.push({ suite: 'cache', case: `${c} (${label})`, metric: 'turbo', value: t.turbo, unit: 'ms' });
      rows.push({ suite: 'cache', case: `${c} (${label})`, metric: 'slipway', value: t.slipway, unit: 'ms' });
      rows.push({
        suite: 'cache',
        case: `${c} (${label})`,
        metric: 'slipway/turbo',
        value: t.ratio,
        unit: 'x',
      });
    };
    rows.push(...cachedRows(`fully cached (${label})`, times.cached!));
    const floor = times.cached?.floor;
    if (floor !== undefined) {
      rows.push({
        suite: 'cache',
        case: `fully cached (${label})`,
        metric: 'node -e 0/turbo',
        value: floor / times.cached!.turbo,
        unit: 'x',
        note: 'Node.js start and exit alone, the floor under any Node.js CLI',
      });
    }
    add('restore after deleting outputs', 'restore');
    add(`one-file change (${repos.slipway.affected} tasks rerun)`, 'change');
    add('cold (informational)', 'cold');
    rows.push(...(await independentRow({ root, cli, log, quick, concurrency, reps: cachedReps, spec })));
  } finally {
    for (const r of Object.values(repos)) rmSync(r.dir, { recursive: true, force: true });
    rmSync(cli, { recursive: true, force: true });
  }
  return rows;
}

/** The target for a fully cached run: at most this times turbo's native binary. */
const CACHED_TARGET = 0.8;

/** The fully cached run on the independently shaped workspace, populated first by each tool. */
async function independentRow(o: {
  root: string;
  cli: string;
  log: (s: string) => void;
  quick: boolean | undefined;
  concurrency: number;
  reps: number;
  spec: { packages: number; npmVersion: string };
}): Promise<BenchRow[]> {
  const repos = {
    turbo: writeIndependentRepo(o.spec),
    slipway: writeIndependentRepo(o.spec),
  };
  const label = `independent repository, ${o.spec.packages} pkgs`;
  try {
    for (const tool of ['turbo', 'slipway'] as const) {
      o.log(`cache: ${label}: ${tool} populating`);
      await runTool(tool, o.root, repos[tool], o.concurrency, o.cli);
      await runTool(tool, o.root, repos[tool], o.concurrency, o.cli);
    }
    o.log(`cache: ${label}: measuring the fully cached run`);
    const t = await measureCached(o.root, o.cli, repos, o.reps, o.concurrency, false);
    return cachedRows(`fully cached (${label})`, t);
  } finally {
    for (const r of Object.values(repos)) rmSync(r.dir, { recursive: true, force: true });
  }
}

// Alone: `node dist/bench/cache.js [--quick]`.
runAlone(import.meta.url, benchCache);
