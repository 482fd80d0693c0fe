/**
 * `npm run bench`: runs every bench module present and prints one table.
 * Options: --only scheduler,cache  --quick (smaller cases, smoke only)  --json FILE (rows as JSON).
 * Exit code 1 when a module crashed or a figure missed its target.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { renderTable } from './lib/table.js';

type BenchFn = (options: BenchOptions) => Promise<BenchRow[]>;

/** Modules are imported by name at run time, so a feature's bench that is not there yet is skipped. */
const modules: { suite: string; file: string; fn: string }[] = [
  { suite: 'scheduler', file: './scheduler.js', fn: 'benchScheduler' },
  { suite: 'cache', file: './cache.js', fn: 'benchCache' },
  { suite: 'analytics', file: './analytics.js', fn: 'benchAnalytics' },
  { suite: 'deploy', file: './deploy.js', fn: 'benchDeploy' },
  { suite: 'deploy', file: './release-fsync.js', fn: 'benchReleaseFsync' },
  { suite: 'deploy', file: './deploy-rsync.js', fn: 'benchDeployRsync' },
  { suite: 'crash', file: './crash.js', fn: 'benchCrash' },
  { suite: 'remote-size', file: './remote-size.js', fn: 'benchRemoteSize' },
  { suite: 'dashboard', file: './dashboard.js', fn: 'benchDashboard' },
  { suite: 'scale-out', file: './scale-out.js', fn: 'benchScaleOut' },
];

async function load(file: string, fn: string): Promise<BenchFn | undefined> {
  const url = new URL(file, import.meta.url);
  try {
    const mod = (await import(url.href)) as Record<string, unknown>;
    const f = mod[fn];
    return typeof f === 'function' ? (f as BenchFn) : undefined;
  } catch (e) {
    // Only "this bench file does not exist" means skip; a broken bench must still fail loudly.
    const err = e as { code?: string; url?: string; message?: string };
    if (err.code === 'ERR_MODULE_NOT_FOUND' && err.message?.includes(fileURLToPath(url))) return undefined;
    throw e;
  }
}

async function main(): Promise<number> {
  // The suites spawn the CLI many times: no daemon unless a suite asks for one (cache.ts does,
  // and stops it).
  process.env.SLIPWAY_DAEMON ??= '0';
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
    },
  });
  const only = values.only?.split(',').map((s) => s.trim());
  // dist/bench/run.js -> repository root two levels up.
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const options: BenchOptions = {
    root,
    quick: values.quick ?? false,
    log: (l) => process.stderr.write(`${l}\n`),
  };
  const rows: BenchRow[] = [];
  let crashed = false;
  for (const m of modules) {
    if (only && !only.includes(m.suite)) continue;
    let fn: BenchFn | undefined;
    try {
      fn = await load(m.file, m.fn);
    } catch (e) {
      crashed = true;
      rows.push(failure(m.suite, 'load', e));
      continue;
    }
    if (!fn) {
      options.log(`bench: ${m.suite}: not present, skipped`);
      continue;
    }
    const started = performance.now();
    try {
      rows.push(...(await fn(options)));
    } catch (e) {
      crashed = true;
      rows.push(failure(m.suite, 'run', e));
    }
    options.log(`bench: ${m.suite}: ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  process.stdout.write(`\n${renderTable(rows)}\n`);
  if (values.json) await writeFile(values.json, `${JSON.stringify(rows, null, 2)}\n`);
  return crashed || rows.some((r) => r.pass === false) ? 1 : 0;
}

function failure(suite: string, stage: string, e: unknown): BenchRow {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(
    `bench: ${suite}: ${stage} failed: ${e instanceof Error ? (e.stack ?? message) : message}\n`,
  );
  return {
    suite,
    case: stage,
    metric: 'error',
    value: Number.NaN,
    pass: false,
    note: message.split('\n')[0],
  };
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
