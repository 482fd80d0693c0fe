import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { createTaskCache, type TaskCache } from '../cache/index.js';
import { OUTPUT_LOGS, type Pipeline } from '../config/types.js';
import { unsetSecretWarnings } from '../config/unset-secrets.js';
import { markAbandonedRuns } from '../exec/abandoned-runs.js';
import { reapOrphans } from '../exec/process-guard.js';
import { runPipeline } from '../exec/run-pipeline.js';
import { attachRunSubscribers, type RunSubscribers } from '../exec/run-subscribers.js';
import type { TaskGraph } from '../graph/graph.js';
import { targetGraph } from '../graph/targets.js';
import { runMarkdown } from '../report/markdown.js';
import { defaultOutputLogs, type OutputLogs, parseOutputLogs } from '../report/output-logs.js';
import { lowerBoundText, type RunSummary } from '../report/summary.js';
import { attachTerminalReporter, type TerminalOptions } from '../report/terminal.js';
import type { ScaleOut } from '../scale/coordinator.js';
import type { Checkout } from '../state/checkout.js';
import { processRecordDir, runLockFile, stateDir } from '../state/paths.js';
import { type Store, withStore } from '../store/store.js';
import { countTasks } from '../task-counts.js';
import { attachTracing } from '../telemetry/tracing.js';
import { colourChoice } from '../util/colour.js';
import type { GitFacts } from '../util/git-facts.js';
import { acquireLock, describeHolder, type HeldLock } from '../util/run-lock.js';
import { trace } from '../util/trace.js';
import { formatMs } from '../util/units.js';
import { action, type CliContext, checkoutOf, globals, pipelineFrom, UsageError } from './context.js';
import { MARKDOWN_HELP, writeMarkdown } from './markdown-file.js';
import { positiveInt } from './options.js';
import { affectedOption, filterOption, printNotes, type TargetFlags, targetsFrom } from './targets.js';

interface RunOptions extends TargetFlags {
  concurrency?: number;
  continue?: boolean;
  resume?: boolean;
  force?: boolean;
  cache: boolean;
  summary?: string;
  markdown?: string;
  verbose?: boolean;
  outputLogs?: OutputLogs;
  /** false with --no-wait: fail instead of waiting for another run's lock. */
  wait: boolean;
  /** Scale-out: the Redis queue workers take tasks from (README: Scaling out). */
  queue?: string;
  /** false with --no-download: leave workers' outputs in the remote cache. */
  download: boolean;
  /** With --queue: HOST:PORT for the coordinator's Prometheus /metrics. */
  metrics?: string;
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
    .option(...affectedOption)
    .option('--summary <file>', 'write the JSON run summary to FILE')
    .option('--markdown <file>', MARKDOWN_HELP)
    .option(
      '--output-logs <mode>',
      `task output to print: ${OUTPUT_LOGS.join('|')} (default: errors-only on a terminal, new-only in CI, else full; outputLogs: per task)`,
      parseOutputLogs,
    )
    .option('--verbose', 'the same as --output-logs=full')
    .option('--no-wait', 'fail at once when another run in this checkout holds the run lock')
    .option('--queue <url>', 'scale out: hand tasks to workers through this Redis queue (redis://HOST:PORT)')
    .option('--no-download', 'with --queue: do not restore the outputs workers built into this checkout')
    .option('--metrics <host:port>', 'with --queue: serve Prometheus /metrics here while the run lasts')
    .action(
      action(ctx, async (tasks: string[], opts: RunOptions, cmd: Command) => {
        // Git and the output check work in their own processes while the pipeline and store load.
        let checkout = checkoutOf(ctx, cmd).probe();
        trace('run: probes started');
        const pipeline = await pipelineFrom(cmd, { snapshot: checkout.ledger });
        trace('run: pipeline loaded');
        const { full, graph, notes } = targetGraph(pipeline, tasks, targetsFrom(ctx, opts));
        printNotes(ctx, notes);
        if (!graph.size) {
          ctx.stdout.write('nothing to run: no task is selected\n');
          return 0;
        }
        const lock = await runLock(ctx, stateDir(pipeline.root), opts.wait);
        if (!lock) return 1;
        try {
          // What the ledger and probes saw predates the other run's end: look again.
          if (lock.waitedFor.length) checkout = checkout.reread();
          const reaped = await reapOrphans(processRecordDir(pipeline.root));
          if (reaped.length) {
            const owners = [...new Set(reaped.map((r) => r.owner))].join(', ');
            ctx.stderr.write(
              `slipway: stopped ${reaped.length} task process group(s) left running by a run that died (pid ${owners})\n`,
            );
          }
          return await runUnderLock(ctx, cmd, { opts, pipeline, full, graph, checkout });
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
  checkout: Checkout;
}

/** The run itself, under the lock. */
async function runUnderLock(ctx: CliContext, cmd: Command, l: LockedRun): Promise<number> {
  const { opts, pipeline, full, graph, checkout } = l;
  const git = checkout.git();
  const where = { url: globals(cmd).store, root: pipeline.root, warm: ctx.prefetch?.warmStore };
  const code = await withStore(where, async (store) => {
    trace('run: store open');
    // Every listener of the run, attached before the cache can warn on the stream.
    const subscribers = attachRunSubscribers({
      pipeline,
      store,
      reporters: [(events) => attachTerminalReporter(events, terminalOptions(ctx, pipeline, opts))],
    });
    const tracing = await attachTracing(subscribers.events, ctx.env, (m) =>
      ctx.stderr.write(`slipway: ${m}\n`),
    );
    // Made before the cache, so a signal also aborts the remote cache's pending requests.
    const cancel = new AbortController();
    try {
      const cache = opts.cache
        ? await createTaskCache({
            pipeline,
            events: subscribers.events,
            env: ctx.env,
            force: opts.force,
            checkout,
            signal: cancel.signal,
          })
        : undefined;
      trace('run: cache ready');
      return await run(ctx, { pipeline, full, graph, store, subscribers, cache, git, cancel }, opts);
    } finally {
      subscribers.detach();
      await tracing?.shutdown();
    }
  });
  trace('run: store closed');
  return code;
}

interface RunSetup {
  pipeline: Pipeline;
  /** Every task of the pipeline, and the part of it this run targets. */
  full: TaskGraph;
  graph: TaskGraph;
  store: Store;
  subscribers: RunSubscribers;
  cache?: TaskCache;
  git: Promise<GitFacts>;
  cancel: AbortController;
}

async function run(ctx: CliContext, setup: RunSetup, opts: RunOptions): Promise<number> {
  const { pipeline, full, store, subscribers, cache, git } = setup;
  let graph = setup.graph;
  await markAbandonedRuns(store);
  if (opts.resume) {
    const [prev] = await store.runs.list({ pipeline: pipeline.name, limit: 1 });
    if (!prev)
      throw new UsageError('nothing to resume: this pipeline has no recorded run', 'run "slipway run" first');
    const rows = (await store.runs.taskRuns(prev.id)).filter((r) => full.has(r.task_id));
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

  const tasks = graph.topo().map((id) => pipeline.tasks.get(id)!);
  for (const message of unsetSecretWarnings(tasks, ctx.env))
    subscribers.events.emit({ type: 'warning', message });

  const controller = setup.cancel;
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.stderr.write(`\nslipway: ${sig} received, stopping tasks…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const scaleOut = await scaleOutOf(ctx, setup, opts);
  // With --queue, -c N is the slots this process offers the queue as a worker of its own.
  const localWorker = scaleOut && opts.concurrency ? await scaleOut.localWorker(opts.concurrency) : undefined;
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
      subscribers,
      env: ctx.env,
      git,
      ...(scaleOut ? { scaleOut } : {}),
    });
    if (scaleOut && cache && opts.download) {
      const { downloadOutputs } = await import('../scale/coordinator.js');
      const missing = await downloadOutputs({ cache, pipeline, graph, summary });
      if (missing.length)
        ctx.stderr.write(
          `slipway: could not restore the outputs of ${missing.join(', ')} from the remote cache\n`,
        );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await localWorker?.close(true);
    await scaleOut?.close();
  }

  if (opts.summary) writeFileSync(path.resolve(opts.summary), `${JSON.stringify(summary, null, 2)}\n`);
  if (opts.markdown) writeMarkdown(ctx, opts.markdown, runMarkdown(summary));
  ctx.stdout.write(endBlock(summary));
  return summary.status === 'success' ? 0 : summary.status === 'cancelled' ? 130 : 1;
}

/** The scale-out queue of this run (--queue, else scaleOut.queue), checked; undefined: run locally. */
async function scaleOutOf(ctx: CliContext, setup: RunSetup, opts: RunOptions): Promise<ScaleOut | undefined> {
  const queue = opts.queue ?? setup.pipeline.raw.scaleOut?.queue;
  if (!queue) return undefined;
  const { prepareScaleOut } = await import('../scale/coordinator.js');
  return prepareScaleOut({
    queue,
    from: opts.queue ? '--queue' : `${path.basename(setup.pipeline.file)} scaleOut.queue`,
    pipeline: setup.pipeline,
    env: ctx.env,
    cache: opts.cache,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    warn: (message) => setup.subscribers.events.emit({ type: 'warning', message }),
  });
}

/** The terminal reporter's settings: colours from the environment, each task's output-logs mode. */
function terminalOptions(ctx: CliContext, pipeline: Pipeline, opts: RunOptions): TerminalOptions {
  const live = !!ctx.stdout.isTTY;
  const { colour, strip } = colourChoice(ctx.env, live);
  const forced = opts.outputLogs ?? (opts.verbose ? 'full' : undefined);
  const fallback = defaultOutputLogs({ live, env: ctx.env });
  return {
    out: ctx.stdout,
    live,
    colour,
    stripTaskColour: strip,
    env: ctx.env,
    github: ctx.env.GITHUB_ACTIONS === 'true',
    outputLogs: (id) => forced ?? pipeline.tasks.get(id)?.outputLogs ?? fallback,
  };
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
    `   Time: ${formatMs(s.durationMs)} (${lowerBoundText(s)}; predicted ${formatMs(s.predictedMakespanMs)})`,
    `   Path: ${s.criticalPath.join(' → ') || '-'}`,
    `    Run: ${s.id} ${s.status.toUpperCase()}`,
    '',
  ].join('\n');
}
