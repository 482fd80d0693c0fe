/**
 * How much of each task's output the terminal reporter prints, as turbo's `--output-logs`:
 * `full` everything (a cache hit's log replayed), `new-only` the output of tasks that ran (a hit is
 * one line), `errors-only` the output of failed tasks, `hash-only` one line per task with its hash,
 * `none` no task output. Every task's log is still written to `.slipway/logs/`.
 */
import { didYouMean } from '../config/diagnostic.js';
import { OUTPUT_LOGS, type OutputLogs } from '../config/types.js';
import { UsageError } from '../util/usage-error.js';

export type { OutputLogs } from '../config/types.js';

/** Parses `--output-logs`; a UsageError names the modes. */
export function parseOutputLogs(v: string): OutputLogs {
  if ((OUTPUT_LOGS as readonly string[]).includes(v)) return v as OutputLogs;
  const guess = didYouMean(v, OUTPUT_LOGS);
  throw new UsageError(
    `bad --output-logs "${v}"`,
    guess ? `did you mean "${guess}"?` : `use one of: ${OUTPUT_LOGS.join(', ')}`,
  );
}

/** True for a CI environment variable that says so (CI=true, CI=1, GITHUB_ACTIONS=true). */
function inCi(env: NodeJS.ProcessEnv): boolean {
  const yes = (v: string | undefined) => !!v && v !== '0' && v.toLowerCase() !== 'false';
  return yes(env.CI) || yes(env.GITHUB_ACTIONS);
}

/**
 * The mode for a task that neither `--output-logs` nor its `outputLogs:` sets. On a terminal,
 * `errors-only` (the live view shows what runs; a failure shows its output). In CI, `new-only`:
 * whoever scrolls a CI log reads it for what this change did; a cache hit's log was read when it
 * ran and replaying it buries the new output (11 cached tasks replayed 140 lines). Piped
 * elsewhere, `full`.
 */
export function defaultOutputLogs(o: { live: boolean; env: NodeJS.ProcessEnv }): OutputLogs {
  if (o.live) return 'errors-only';
  return inCi(o.env) ? 'new-only' : 'full';
}
