/**
 * Scale-out bench: 40 sleep tasks of 0.2-2 s (seeded) run by `slipway run --queue` over 1, 2, 4
 * and 8 worker processes of one slot each, with the real Redis and turborepo-remote-cache server.
 * Figures: makespan (run start to last task end) ÷ the lower bound max(longest task, work ÷
 * workers) from the durations the workers measured, and the dispatch overhead (the executor
 * starting a ready task → its command starting on a worker) p50 and p95. The same graph run
 * locally (`slipway run -c N`) with the same slot count is the comparison.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { quantile } from '../src/util/quantile.js';
import { freePort } from './lib/count-proxy.js';
import { dispatchFigures, figures, type Summary } from './lib/dispatch-figures.js';
import { seeded } from './lib/random.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { tail, timed } from './lib/spawn.js';

const TOKEN = 'bench-scale-token';
/** Runs before the measured ones, on each side: the history the priorities come from. */
const WARM_UPS = 3;
/**
 * SLIPWAY_BENCH_SCALE_NEW_COMMIT=1: each measured run builds a commit the workers have not seen (as
 * on CI, where each run is a new commit): an empty commit pushed to the origin and pulled by the
 * coordinator's clone; the workers fetch it. Without it every run builds the warm-ups' commit.
 */
const NEW_COMMIT = process.env.SLIPWAY_BENCH_SCALE_NEW_COMMIT === '1';
/**
 * SLIPWAY_BENCH_SCALE_REPEAT=R: R measured runs per fleet size (one local run), each printed, the
 * rows the median of the runs' figures: the first wave's dispatch on a shared 2-core machine
 * varies several-fold from run to run, one run per build says little in an A/B comparison.
 */
const REPEAT = Math.max(1, Number(process.env.SLIPWAY_BENCH_SCALE_REPEAT ?? 1) || 1);
/** SLIPWAY_BENCH_SCALE_WORKERS=8 (or 4,8 …) runs only those fleet sizes: quicker rounds while profiling. */
const WORKERS: readonly number[] = process.env.SLIPWAY_BENCH_SCALE_WORKERS
  ? process.env.SLIPWAY_BENCH_SCALE_WORKERS.split(',').map(Number)
  : [1, 2, 4, 8];

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore' });
}

async function redisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(6379, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function benchScaleOut(o: BenchOptions): Promise<BenchRow[]> {
  if (!(await redisUp())) {
    o.log('scale-out: no Redis on 127.0.0.1:6379, skipped');
    return [];
  }
  const bin = path.join(o.root, 'bin/slipway.js');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-scale-'));
  const prefix = `slipway-bench-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const rows: BenchRow[] = [];
  try {
    // The graph: 40 independent sleep tasks, 0.2-2 s (0.1-1 s with --quick).
    const rnd = seeded(40);
    const scale = o.quick ? 0.5 : 1;
    const tasks = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => {
        const s = ((0.2 + rnd.next() * 1.8) * scale).toFixed(2);
        return [`s${String(i).padStart(2, '0')}`, { run: `sleep ${s}`, inputs: ['slipway.yml'] }];
      }),
    );
    const origin = path.join(tmp, 'origin');
    mkdirSync(origin);
    writeFileSync(path.join(origin, 'slipway.yml'), stringify({ name: 'scale-bench', tasks }));
    writeFileSync(path.join(origin, '.gitignore'), '.slipway/\n');
    git(origin, 'init', '-q', '-b', 'main');
    git(origin, 'add', '-A');
    git(origin, '-c', 'user.email=b@example.invalid', '-c', 'user.name=b', 'commit', '-q', '-m', 'bench');
    const clone = (name: string) => {
      const dir = path.join(tmp, name);
      git(tmp, 'clone', '-q', origin, dir);
      return dir;
    };

    const cachePort = await freePort();
    const server = spawn(
      process.execPath,
      [path.join(o.root, 'node_modules/turborepo-remote-cache/dist/cli.js')],
      {
        env: {
          PATH: process.env.PATH,
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: String(cachePort),
          TURBO_TOKEN: TOKEN,
          STORAGE_PROVIDER: 'local',
          STORAGE_PATH: path.join(tmp, 'storage'),
          STORAGE_PATH_USE_TMP_FOLDER: 'false',
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      },
    );
    children.push(server);
    const url = `http://127.0.0.1:${cachePort}`;
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${url}/v8/artifacts/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok)
          break;
      } catch {
        // not yet
      }
      if (i > 300) throw new Error('turborepo-remote-cache did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const queue = `redis://127.0.0.1:6379/0?prefix=${prefix}`;
    const env = {
      ...process.env,
      NO_COLOR: '1',
      CI: '1',
      SLIPWAY_QUEUE_KEY: randomBytes(16).toString('hex'),
      SLIPWAY_REMOTE_CACHE_URL: url,
      SLIPWAY_REMOTE_CACHE_TOKEN: TOKEN,
      SLIPWAY_REMOTE_CACHE_TEAM: 'bench',
    };

    // Workers, started once; a run over N workers stops the others first (each has one slot).
    const workers: { proc: ChildProcess; out: string[] }[] = [];
    for (let i = 0; i < Math.max(...WORKERS); i++) {
      const dir = clone(`w${i}`);
      const out: string[] = [];
      const proc = spawn(process.execPath, [bin, 'worker', '--queue', queue, '--name', `w${i}`], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      proc.stdout!.setEncoding('utf8').on('data', (t: string) => out.push(t));
      children.push(proc);
      workers.push({ proc, out });
    }
    for (const w of workers)
      for (let i = 0; !w.out.join('').includes('ready'); i++) {
        if (i > 600) throw new Error(`a worker did not start: ${w.out.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    o.log(`scale-out: ${workers.length} workers ready; queue ${queue}`);

    const coord = clone('coordinator');
    const local = clone('local');
    const run = async (dir: string, args: string[], extra: NodeJS.ProcessEnv = {}) => {
      const r = await timed(process.execPath, [bin, 'run', '--force', '--summary', 'summary.json', ...args], {
        cwd: dir,
        env: { ...env, ...extra },
      });
      if (r.code !== 0) throw new Error(`slipway run failed:\n${tail(r)}`);
      return JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Summary;
    };
    // Warm-up runs: the history the priorities come from. Predictions are the median of the
    // recent runs; one run's durations on a loaded machine are off by up to half a second (the
    // first wave's most), which ranks a 1.4 s task above 2 s ones: three runs each.
    for (let i = 0; i < WARM_UPS; i++) {
      await run(coord, ['--queue', queue]);
      await run(local, ['-c', '8'], { SLIPWAY_REMOTE_CACHE_URL: '' });
    }

    let alive = workers.length;
    for (const n of [...WORKERS].reverse()) {
      // Keep n workers: stop the rest between runs (idle, so nothing is lost).
      while (alive > n) {
        const w = workers[--alive]!;
        const gone = new Promise((r) => w.proc.once('exit', r));
        w.proc.kill('SIGTERM');
        await gone;
      }
      for (const w of workers) w.out.length = 0;
      const ratios: number[] = [];
      const p50s: number[] = [];
      const p95s: number[] = [];
      const ownP95s: number[] = [];
      for (let rep = 1; rep <= REPEAT; rep++) {
        if (NEW_COMMIT) {
          git(
            origin,
            '-c',
            'user.email=b@example.invalid',
            '-c',
            'user.name=b',
            'commit',
            '-q',
            '--allow-empty',
            '-m',
            `run ${n} ${rep}`,
          );
          git(coord, 'pull', '-q', '--ff-only');
        }
        const tag = REPEAT > 1 ? `${n}-${rep}` : `${n}`;
        const traceFile = path.join(tmp, `dispatch-${tag}.jsonl`);
        const load = os.loadavg()[0]!.toFixed(1);
        const s = await run(coord, ['--queue', queue], { SLIPWAY_DISPATCH_TRACE: traceFile });
        const f = figures(s, n);
        const d = dispatchFigures(s, readFileSync(traceFile, 'utf8'));
        // SLIPWAY_BENCH_SCALE_KEEP=DIR keeps each run's summary and dispatch trace, for a closer look.
        const keep = process.env.SLIPWAY_BENCH_SCALE_KEEP;
        if (keep) {
          mkdirSync(keep, { recursive: true });
          copyFileSync(traceFile, path.join(keep, `dispatch-${tag}.jsonl`));
          copyFileSync(path.join(coord, 'summary.json'), path.join(keep, `summary-${tag}.json`));
        }
        ratios.push(f.makespan / f.bound);
        p50s.push(quantile(d.total, 0.5));
        p95s.push(quantile(d.total, 0.95));
        if (d.ownCpu.length) ownP95s.push(quantile(d.ownCpu, 0.95));
        o.log(
          `scale-out: ${n} worker(s)${REPEAT > 1 ? ` run ${rep}/${REPEAT}` : ''}, load ${load}: makespan ÷ bound ${(f.makespan / f.bound).toFixed(3)}; ${d.text}`,
        );
      }
      const l = await run(local, ['-c', String(n)], { SLIPWAY_REMOTE_CACHE_URL: '' });
      const lf = figures(l, n);
      const ratio = quantile(ratios, 0.5);
      o.log(
        `scale-out: ${n} worker(s), load ${os.loadavg()[0]!.toFixed(1)}: makespan ÷ lower bound ${REPEAT > 1 ? `median of ${REPEAT} runs ` : ''}${ratio.toFixed(3)}; local -c ${n}: ${(lf.makespan / lf.bound).toFixed(3)}`,
      );
      rows.push({
        suite: 'scale-out',
        case: `40 sleeps, ${n} worker(s)`,
        metric: 'makespan/lower bound',
        value: ratio,
        unit: 'x',
        ...(n === 8 ? { target: '<= 1.10', pass: ratio <= 1.1 } : {}),
      });
      rows.push({
        suite: 'scale-out',
        case: `40 sleeps, local -c ${n}`,
        metric: 'makespan/lower bound',
        value: lf.makespan / lf.bound,
        unit: 'x',
      });
      if (n === 8) {
        const p50 = quantile(p50s, 0.5);
        const p95 = quantile(p95s, 0.5);
        const of = REPEAT > 1 ? `median of ${REPEAT} runs' p95; ` : '';
        rows.push({
          suite: 'scale-out',
          case: '8 workers',
          metric: 'dispatch overhead p50',
          value: p50,
          unit: 'ms',
        });
        rows.push({
          suite: 'scale-out',
          case: '8 workers',
          metric: 'dispatch overhead p95',
          value: p95,
          unit: 'ms',
          target: '<= 20 ms',
          pass: p95 <= 20,
          note: `${of}40 tasks: ready and a worker free -> its process started there`,
        });
        if (ownP95s.length)
          rows.push({
            suite: 'scale-out',
            case: '8 workers',
            metric: "dispatch p95 less the worker's CPU wait",
            value: quantile(ownP95s, 0.5),
            unit: 'ms',
            note: "diagnostic: without the time the worker's process waited for one of this machine's CPUs",
          });
      }
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    // Only this bench's keys.
    try {
      const keys = execFileSync('redis-cli', ['--scan', '--pattern', `${prefix}:*`], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
      for (let i = 0; i < keys.length; i += 500)
        execFileSync('redis-cli', ['del', ...keys.slice(i, i + 500)]);
    } catch {
      // redis-cli missing: the keys expire with their jobs (removeOnComplete)
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
