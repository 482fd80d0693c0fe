import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { createTaskCache, type TaskCache } from '../cache/index.js';
import { DEFAULT_FILE, type Pipeline } from '../config/types.js';
import { EventStream, type RunEvent } from '../events.js';
import { reapOrphans } from '../exec/process-guard.js';
import { runPipeline } from '../exec/run-pipeline.js';
import type { TaskGraph } from '../graph/graph.js';
import { targetGraph } from '../graph/targets.js';
import { runMarkdown } from '../report/markdown.js';
import type { RunSummary } from '../report/summary.js';
import { attachTerminalReporter } from '../report/terminal.js';
import { processRecordDir, runLockFile, stateDir } from '../state/paths.js';
import { listRuns, markAbandonedRuns, taskRuns } from '../store/runs.js';
import { type Store, withStore } from '../store/store.js';
import { countTasks } from '../task-counts.js';
import { attachTracing } from '../telemetry/tracing.js';
import type { GitFacts } from '../util/git-facts.js';
import { pidAlive } from '../util/proc-start.js';
import { acquireLock, describeHolder, type HeldLock } from '../util/run-lock.js';
import { trace } from '../util/trace.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';
import { positiveInt } from './options.js';
import { probesFor } from './probe.js';
import { filterOption } from './targets.js';

interface RunOptions {
  concurrency?: number;
  continue?: boolean;
  resume?: boolean;
  force?: boolean;
  cache: boolean;
  filter: string[];
  summary?: string;
  markdown?: string;
  verbose?: boolean;
  /** false with --no-wait: fail instead of waiting for another run's lock. */
  wait: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description(
      'run the pipeline (or the named tasks and their dependencies) in parallel, cached and recorded',
    )
    .argument('[tasks...]', 'tasks to run, with their dependencies (default: all)')
    .option(
      '-c, --concurrency <n>',
      'tasks running at once (default: pipeline file, else CPU cores)',
      positiveInt('--concurrency'),
    )
    .option('--continue', 'after a failure, keep running every task that does not depend on it')
    .option('--resume', 'rerun only the tasks that did not succeed in the previous run of this pipeline')
    .option('--force', 'ignore cache hits (outputs are still saved)')
    .option('--no-cache', 'neither read nor write the cache (hashes are not computed)')
    .option(...filterOption)
    .option('--summary <file>', 'write the JSON run summary to FILE')
    .option('--markdown <file>', 'write a Markdown report to FILE (e.g. $GITHUB_STEP_SUMMARY)')
    .option('--verbose', 'stream every task output line, even on a terminal')
    .option('--no-wait', 'fail at once when another run in this checkout holds the run lock')
    .action(
      action(ctx, async (tasks: string[], opts: RunOptions, cmd: Command) => {
        // Git and the output check work in their own processes while the pipeline and store load.
        const root = path.dirname(path.resolve(globals(cmd).file ?? DEFAULT_FILE));
        let probes = ctx.probes?.root === root ? ctx.probes : probesFor(root);
        trace('run: probes started');
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        trace('run: pipeline loaded');
        const { full, graph } = targetGraph(pipeline, tasks, opts.filter);
        const lock = await runLock(ctx, stateDir(pipeline.root), opts.wait);
        if (!lock) return 1;
        try {
          // What the probes saw predates the other run's end: look again.
          if (lock.waitedFor.length) probes = probesFor(root);
          const reaped = await reapOrphans(processRecordDir(pipeline.root));
          if (reaped.length) {
            const owners = [...new Set(reaped.map((r) => r.owner))].join(', ');
            ctx.stderr.write(
              `slipway: stopped ${reaped.length} task process group(s) left running by a run that died (pid ${owners})\n`,
            );
          }
          return await runUnderLock(ctx, cmd, { opts, pipeline, full, graph, probes });
        } finally {
          lock.release();
        }
      }),
    );
}

/** Takes this checkout's run lock, saying whose lock it waits for; undefined with --no-wait when busy. */
async function runLock(ctx: CliContext, dir: string, wait: boolean): Promise<HeldLock | undefined> {
  const file = runLockFile(dir);
  const got = await acquireLock(file, {
    command: ['slipway', ...process.argv.slice(2)].join(' '),
    wait,
    onWait: (h) =>
      ctx.stderr.write(
        `slipway: waiting for the run lock of this checkout (${path.relative(process.cwd(), file) || file}), held by ${describeHolder(h)}\n`,
      ),
  });
  if (got.ok) return got.value;
  ctx.stderr.write(
    `error: another run holds this checkout's run lock: ${describeHolder(got.error.holder)}\n  hint: wait for it (drop --no-wait), or remove ${file} if that process is gone\n`,
  );
  return undefined;
}

interface LockedRun {
  opts: RunOptions;
  pipeline: Pipeline;
  full: TaskGraph;
  graph: TaskGraph;
  probes: { git: Promise<GitFacts>; outputs: Promise<string | undefined> };
}

/** The run itself, under the lock. */
async function runUnderLock(ctx: CliContext, cmd: Command, l: LockedRun): Promise<number> {
  const { opts, pipeline, full, graph, probes } = l;
  const git = probes.git;
  const events = new EventStream<RunEvent>();
  // Made before the cache, so a signal also aborts the remote cache's pending requests.
  const cancel = new AbortController();
  const detach = attachTerminalReporter(events, { out: ctx.stdout, verbose: opts.verbose });
  const tracing = await attachTracing(events, ctx.env, (m) => ctx.stderr.write(`slipway: ${m}\n`));
  try {
    const cache = opts.cache
      ? await createTaskCache({
          pipeline,
          events,
          env: ctx.env,
          force: opts.force,
          git,
          outputs: probes.outputs,
          signal: cancel.signal,
        })
      : undefined;
    trace('run: cache ready');
    const code = await withStore({ url: globals(cmd).store, root: pipeline.root }, (store) => {
      trace('run: store open');
      return run(ctx, { pipeline, full, graph, store, events, cache, git, cancel }, opts);
    });
    trace('run: store closed');
    return code;
  } finally {
    detach();
    await tracing?.shutdown();
  }
}

interface RunSetup {
  pipeline: Pipeline;
  /** Every task of the pipeline, and the part of it this run targets. */
  full: TaskGraph;
  graph: TaskGraph;
  store: Store;
  events: EventStream<RunEvent>;
  cache?: TaskCache;
  git: Promise<GitFacts>;
  cancel: AbortController;
}

async function run(ctx: CliContext, setup: RunSetup, opts: RunOptions): Promise<number> {
  const { pipeline, full, store, events, cache, git } = setup;
  let graph = setup.graph;
  await markAbandonedRuns(store.db, os.hostname(), (pid) => pid !== process.pid && pidAlive(pid));
  if (opts.resume) {
    const [prev] = await listRuns(store.db, { pipeline: pipeline.name, limit: 1 });
    if (!prev)
      throw new UsageError('nothing to resume: this pipeline has no recorded run', 'run "slipway run" first');
    const rows = (await taskRuns(store.db, prev.id)).filter((r) => full.has(r.task_id));
    const done = new Set(rows.filter((r) => r.status === 'success').map((r) => r.task_id));
    graph = full.select(rows.map((r) => r.task_id)).without(done);
    if (!graph.size) {
      ctx.stdout.write(`nothing to resume: every task of run ${prev.id} succeeded\n`);
      return 0;
    }
    ctx.stdout.write(
      `resuming run ${prev.id} (${prev.status}): ${graph.size} task(s) to run, ${done.size} already done\n`,
    );
  }

  const controller = setup.cancel;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.stderr.write(`\nslipway: ${sig} received, stopping tasks…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: RunSummary;
  try {
    summary = await runPipeline({
      cache,
      pipeline,
      graph,
      store,
      concurrency: opts.concurrency,
      force: opts.force,
      continueOnFailure: opts.continue,
      signal: controller.signal,
      argv: process.argv.slice(2),
      events,
      env: ctx.env,
      git,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  if (opts.summary) writeFileSync(path.resolve(opts.summary), `${JSON.stringify(summary, null, 2)}\n`);
  if (opts.markdown) writeFileSync(path.resolve(opts.markdown), runMarkdown(summary), { flag: 'a' });
  ctx.stdout.write(endBlock(summary));
  return summary.status === 'success' ? 0 : summary.status === 'cancelled' ? 130 : 1;
}

function endBlock(s: RunSummary): string {
  const n = countTasks(s.tasks);
  const parts = [`${n.success} succeeded`];
  if (n.failed) parts.push(`${n.failed} failed`);
  if (n.skipped) parts.push(`${n.skipped} skipped`);
  if (n.cancelled) parts.push(`${n.cancelled} cancelled`);
  const cache = s.cache.hits ? `; ${s.cache.hits} cached, saved ${formatMs(s.cache.savedMs)}` : '';
  return [
    '',
    `  Tasks: ${parts.join(', ')}${cache}`,
    `   Time: ${formatMs(s.durationMs)} (lower bound ${formatMs(s.lowerBoundMs)}, ×${s.lowerBoundRatio.toFixed(2)}; predicted ${formatMs(s.predictedMakespanMs)})`,
    `   Path: ${s.criticalPath.join(' → ') || '-'}`,
    `    Run: ${s.id} ${s.status.toUpperCase()}`,
    '',
  ].join('\n');
}
