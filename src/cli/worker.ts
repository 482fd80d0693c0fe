/** `slipway worker`: a scale-out worker in a clone of the repository (README: Scaling out). */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { Command } from 'commander';
import { parseQueueAddress, queueKey } from '../scale/queue-address.js';
import { parseDuration, parseSize } from '../util/units.js';
import { action, type CliContext, UsageError } from './context.js';
import { positiveInt } from './options.js';

interface WorkerOpts {
  queue: string;
  slots: number;
  cpu?: string;
  memory?: string;
  metrics?: string;
  name?: string;
  lockDuration?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('take tasks of scale-out runs from a Redis queue and run them in this clone')
    .requiredOption('--queue <url>', 'the queue: redis://HOST:PORT[/DB][?prefix=NAME]')
    .option('--slots <n>', 'tasks run at once', positiveInt('--slots'), 1)
    .option('--cpu <n>', 'cpu this worker offers (default: --slots)')
    .option('--memory <size>', "memory this worker offers, e.g. 4GiB (default: the machine's)")
    .option('--metrics <host:port>', 'serve /metrics, /healthz and /readyz here (port 0 picks one)')
    .option('--name <name>', 'the name runs report for this worker (default HOST:PID)')
    .option(
      '--lock-duration <duration>',
      "how long a job stays locked without renewal: a dead worker's job runs elsewhere after it (default 10s)",
    )
    .action(
      action(ctx, async (opts: WorkerOpts) => {
        const address = parseQueueAddress(opts.queue);
        const key = queueKey(ctx.env);
        const cpu = opts.cpu === undefined ? undefined : Number(opts.cpu);
        if (cpu !== undefined && !(cpu > 0))
          throw new UsageError(`bad --cpu ${opts.cpu}`, 'write a positive number, e.g. 2 or 0.5');
        const memory = opts.memory === undefined ? undefined : parseSize(opts.memory);
        if (opts.memory !== undefined && !(memory && memory > 0))
          throw new UsageError(`bad --memory ${opts.memory}`, 'write a size such as 512MiB or 4GiB');
        if (opts.metrics !== undefined && !/^.+:\d+$/.test(opts.metrics))
          throw new UsageError(`bad --metrics ${opts.metrics}`, 'write host:port, e.g. 127.0.0.1:9464');
        const lockMs = opts.lockDuration === undefined ? undefined : parseDuration(opts.lockDuration);
        if (opts.lockDuration !== undefined && lockMs === undefined)
          throw new UsageError(
            `bad --lock-duration ${opts.lockDuration}`,
            'write a duration such as 10s or 1m',
          );
        const { startWorker, MIN_LOCK_MS } = await import('../scale/worker.js');
        if (lockMs !== undefined && lockMs < MIN_LOCK_MS)
          throw new UsageError(
            `--lock-duration ${opts.lockDuration} is too short`,
            `write at least ${MIN_LOCK_MS / 1000}s, e.g. 10s: each worker renews its jobs' locks every half of it`,
          );
        const repo = topFolder(process.cwd());
        const worker = await startWorker({
          address,
          key,
          repo,
          slots: opts.slots,
          ...(cpu !== undefined ? { cpu } : {}),
          ...(memory !== undefined ? { memory } : {}),
          ...(opts.metrics ? { metrics: opts.metrics } : {}),
          ...(opts.name ? { name: opts.name } : {}),
          ...(lockMs !== undefined ? { lockMs } : {}),
          env: ctx.env,
          log: (line) => ctx.stdout.write(`${new Date().toISOString()} ${line}\n`),
        });
        await new Promise<void>((resolve) => {
          let signals = 0;
          const stop = () => {
            // First signal: finish the running tasks; a second one stops them.
            signals++;
            if (signals === 1) ctx.stdout.write(`worker ${worker.name} stopping: finishing running tasks\n`);
            void worker.close(signals > 1).finally(resolve);
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
        return 0;
      }),
    );
}

/** The repository's top folder: a worker must start inside a clone. */
function topFolder(cwd: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--show-toplevel'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    throw new UsageError(
      `${cwd} is not inside a git clone`,
      `start the worker in a clone of the repository it builds (git clone …; cd …; slipway worker --queue …); ${os.hostname()} builds each job's commit in a worktree of it`,
    );
  }
}
