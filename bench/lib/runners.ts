/** Runs one bench repository with Turborepo or with Slipway and returns wall time and the schedule. */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tail, timed } from './spawn.js';

export interface ScheduledTask {
  id: string;
  startMs: number;
  endMs: number;
}

export interface RunResult {
  /** Spawn to exit, measured by the bench (same for both tools). */
  wallMs: number;
  /** Per task, relative to the earliest start. */
  tasks: ScheduledTask[];
  /** Slipway only: what the run summary says. */
  reported?: {
    durationMs: number;
    lowerBoundMs: number;
    predictedMakespanMs: number;
    criticalPath: string[];
  };
}

/** Telemetry and update checks off, so turbo runs offline and quietly. */
const turboEnv = {
  TURBO_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  TURBO_PRINT_VERSION_DISABLED: '1',
};

/**
 * turbo's platform binary rather than the node shim in node_modules/.bin, whose extra node start-up
 * would count against turbo's wall time.
 */
export function turboBinary(root: string): string {
  const arch = process.arch === 'x64' ? '64' : process.arch;
  const native = join(root, 'node_modules', '@turbo', `${process.platform}-${arch}`, 'bin', 'turbo');
  return existsSync(native) ? native : join(root, 'node_modules', '.bin', 'turbo');
}

/** `turbo run build --concurrency N --force` in `dir`; the schedule comes from `--summarize`. */
export async function runTurbo(root: string, dir: string, slots: number): Promise<RunResult> {
  await rm(join(dir, '.turbo'), { recursive: true, force: true });
  const t = await timed(
    turboBinary(root),
    [
      'run',
      'build',
      '--concurrency',
      String(slots),
      '--force',
      '--ui',
      'stream',
      '--output-logs',
      'none',
      '--summarize',
    ],
    { cwd: dir, env: { ...process.env, ...turboEnv } },
  );
  if (t.code !== 0) throw new Error(`turbo failed (exit ${t.code}) in ${dir}:\n${tail(t)}`);
  const runsDir = join(dir, '.turbo', 'runs');
  const [file] = (await readdir(runsDir)).filter((f) => f.endsWith('.json'));
  if (!file) return { wallMs: t.wallMs, tasks: [] };
  const summary = JSON.parse(await readFile(join(runsDir, file), 'utf8')) as {
    tasks: { package: string; execution?: { startTime: number; endTime: number } }[];
  };
  const tasks = summary.tasks.flatMap((task) =>
    task.execution
      ? [{ id: task.package, startMs: task.execution.startTime, endMs: task.execution.endTime }]
      : [],
  );
  return { wallMs: t.wallMs, tasks: relative(tasks) };
}

interface SlipwaySummary {
  status: string;
  durationMs: number;
  lowerBoundMs: number;
  predictedMakespanMs: number;
  criticalPath: string[];
  tasks: { id: string; status: string; startedAt?: string; endedAt?: string }[];
}

/** `slipway run -c N --force --summary FILE` in `dir` (history under dir/.slipway is kept between runs). */
export async function runSlipway(
  root: string,
  dir: string,
  slots: number,
  label: string,
): Promise<RunResult> {
  const summaryFile = join(dir, `summary-${label}.json`);
  const t = await timed(
    process.execPath,
    [
      join(root, 'bin', 'slipway.js'),
      'run',
      '-f',
      join(dir, 'slipway.yml'),
      '-c',
      String(slots),
      '--force',
      '--summary',
      summaryFile,
    ],
    { cwd: dir, env: { ...process.env, CI: '1' } },
  );
  if (t.code !== 0) throw new Error(`slipway failed (exit ${t.code}) in ${dir}:\n${tail(t)}`);
  const s = JSON.parse(await readFile(summaryFile, 'utf8')) as SlipwaySummary;
  const tasks = s.tasks.flatMap((task) =>
    task.startedAt && task.endedAt
      ? [{ id: task.id, startMs: Date.parse(task.startedAt), endMs: Date.parse(task.endedAt) }]
      : [],
  );
  return {
    wallMs: t.wallMs,
    tasks: relative(tasks),
    reported: {
      durationMs: s.durationMs,
      lowerBoundMs: s.lowerBoundMs,
      predictedMakespanMs: s.predictedMakespanMs,
      criticalPath: s.criticalPath,
    },
  };
}

function relative(tasks: ScheduledTask[]): ScheduledTask[] {
  const t0 = Math.min(...tasks.map((t) => t.startMs));
  return tasks
    .map((t) => ({ id: t.id, startMs: t.startMs - t0, endMs: t.endMs - t0 }))
    .sort((a, b) => a.startMs - b.startMs);
}
