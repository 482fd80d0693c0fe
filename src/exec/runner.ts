/**
 * The local task runner: each attempt is /bin/sh -c in its own process group, with timeout and
 * whole-tree kill, every group told to the process guard before its command starts.
 */
import { existsSync } from 'node:fs';
import { failpoint } from '../util/failpoint.js';
import { type IoCounters, parseProcIo } from '../util/io-counters.js';
import { gateScript, spawnGate } from './gate.js';
import { type FinalReading, ProcessTreeSampler, statTicks } from './proc-stats.js';
import type { ProcessGuard } from './process-guard.js';
import { SpareShell } from './spare-shell.js';
import type { Attempt, AttemptFailure, RunRequest, TaskRunner } from './task-runner.js';

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  durationMs: number;
  cpuSeconds: number;
  peakRssBytes: number;
  io?: IoCounters;
  /** Set when the command could not be started at all. */
  spawnError?: string;
}

export interface RunProcessOptions {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  signal?: AbortSignal;
  sampler: ProcessTreeSampler;
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  /** Told once the group exists and its command was let go. */
  onSpawned?(): void;
  /** Time between SIGTERM and SIGKILL for the group. */
  graceMs?: number;
  /** Told when the group starts and ends, so it cannot outlive slipway (process-guard.ts). */
  guard?: ProcessGuard;
  /** A shell started ahead (spare-shell.ts), already told to the guard; else a fresh one starts. */
  spare?: SpareShell;
}

/** What the gate wrote to fd 3: /proc/<shell>/io lines, then `stat <the stat line>`. */
export function parseFinalReading(text: string): FinalReading | undefined {
  const at = text.indexOf('stat ');
  if (at < 0) return undefined;
  const stat = text.slice(at + 5).trim();
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = statTicks(f);
  if (!Number.isFinite(ticks)) return undefined;
  const io = parseProcIo(text.slice(0, at));
  return io ? { ticks, io } : { ticks };
}

/** How long a command runs before the spare shell for the next attempt is started (LocalRunner). */
const SPARE_AFTER_MS = 200;

/** Sends a signal to a whole process group; ignores groups that are already gone. */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}

/** Runs the command; never rejects. */
function runProcess(opts: RunProcessOptions): Promise<ProcessResult> {
  let started = performance.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    // A spare's script also moves it to the task's folder and environment; a fresh shell starts
    // there.
    const prelude = opts.spare?.alive ? opts.spare.prelude(opts.cwd, opts.env) : undefined;
    if (!prelude) opts.spare?.discard();
    const spare = prelude ? opts.spare : undefined;
    const child = spare ? spare.take() : spawnGate(opts.cwd, opts.env);
    let finalText = '';
    const counters = child.stdio[3];
    if (counters && 'setEncoding' in counters) {
      counters.setEncoding('latin1');
      counters.on('data', (t: string) => {
        finalText += t;
      });
      counters.on('error', () => {});
    }
    child.stdin?.on('error', () => {}); // the gate is gone (spawn failed, or killed meanwhile)
    const pgid = child.pid;
    // A spare was told to the guard as it started.
    if (pgid !== undefined && !spare) opts.guard?.started(pgid);
    // Only now, with the group known to the guard, may the command start.
    child.stdin?.end(gateScript(opts.command, prelude));
    if (spare) started = performance.now();
    if (pgid !== undefined) {
      failpoint('task-spawned');
      opts.onSpawned?.();
      opts.sampler.track(pgid);
    }
    let ended = false;
    const groupGone = () => {
      if (pgid === undefined || ended) return;
      ended = true;
      opts.guard?.ended(pgid);
    };

    const terminate = () => {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), opts.graceMs ?? 2000);
    };
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, opts.timeoutMs)
        : undefined;
    const onAbort = () => {
      cancelled = true;
      terminate();
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.setEncoding('utf8').on('data', (t: string) => opts.onOutput('stdout', t));
    child.stderr?.setEncoding('utf8').on('data', (t: string) => opts.onOutput('stderr', t));

    let spawnError: string | undefined;
    child.on('error', (e) => {
      // Node blames /bin/sh when it is the working directory that is missing.
      spawnError = existsSync(opts.cwd) ? e.message : `working directory ${opts.cwd} does not exist`;
    });
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // The shell is gone; nothing it started may outlive the task (or hold its output pipes open).
      if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
      groupGone();
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      groupGone();
      const exitCode = exit ? exit.code : code;
      const stats =
        pgid !== undefined
          ? opts.sampler.stop(pgid, parseFinalReading(finalText))
          : { cpuSeconds: 0, peakRssBytes: 0 };
      resolve({
        exitCode,
        signal: exit ? exit.signal : signal,
        timedOut,
        cancelled,
        durationMs: performance.now() - started,
        ...stats,
        ...(spawnError ? { spawnError } : {}),
      });
    });
  });
}

/**
 * Runs attempts as local process groups; with a guard, no group can outlive slipway. With
 * `spares`, a task shell for the next attempt is started as each attempt's command starts (spare-
 * shell.ts), so the next one starts without a fork on its way; `close()` ends the spare.
 */
export class LocalRunner implements TaskRunner {
  readonly #sampler = new ProcessTreeSampler();
  readonly #guard: ProcessGuard | undefined;
  readonly #spares: boolean;
  #spare: SpareShell | undefined;
  #closed = false;

  constructor(options: { guard?: ProcessGuard; spares?: boolean } = {}) {
    this.#guard = options.guard;
    this.#spares = options.spares ?? false;
  }

  /** The pid of the spare shell waiting for the next attempt, if one is. */
  get sparePid(): number | undefined {
    return this.#spare?.alive ? this.#spare.pgid : undefined;
  }

  async run(request: RunRequest): Promise<Attempt> {
    const spare = this.#spare;
    this.#spare = undefined;
    let later: NodeJS.Timeout | undefined;
    const prepare = () => {
      clearTimeout(later);
      later = undefined;
      this.#prepare(request.cwd, request.env);
    };
    const r = await runProcess({
      command: request.command,
      cwd: request.cwd,
      env: request.env,
      timeoutMs: request.timeoutMs,
      signal: request.signal,
      sampler: this.#sampler,
      onOutput: request.onOutput,
      onSpawned: () => {
        request.onSpawned?.();
        // The next attempt's shell, where and with what this one started (the next task's script
        // says what differs), started once this command has run a while: a fork of this process
        // costs ms of CPU, which must not compete with other commands starting now (a scale-out
        // wave starts many workers' first jobs together on the same machine).
        if (this.#spares) {
          later = setTimeout(prepare, SPARE_AFTER_MS);
          later.unref();
        }
      },
      ...(spare ? { spare } : {}),
      ...(this.#guard ? { guard: this.#guard } : {}),
    });
    // A command shorter than that: now, while the next attempt is being fetched or decided.
    if (later) setImmediate(prepare);
    const failure = attemptFailure(r, request.timeoutMs);
    return {
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      cpuSeconds: r.cpuSeconds,
      peakRssBytes: r.peakRssBytes,
      ...(r.io ? { io: r.io } : {}),
      ...(failure ? { failure } : {}),
    };
  }

  #prepare(cwd: string, env: NodeJS.ProcessEnv): void {
    if (this.#closed || this.#spare?.alive || !existsSync(cwd)) return;
    this.#spare = SpareShell.start(cwd, env, this.#guard);
  }

  /** Ends the spare shell, if any (before the guard closes). */
  close(): void {
    this.#closed = true;
    this.#spare?.discard();
    this.#spare = undefined;
  }
}

/**
 * What went wrong with a process, if anything. Cancellation wins (the run was stopped, whatever
 * the command did on its way out); then a clean exit counts as success even past a timeout.
 */
export function attemptFailure(r: ProcessResult, timeoutMs: number | undefined): AttemptFailure | undefined {
  if (r.cancelled) return { reason: 'cancelled' };
  if (r.exitCode === 0) return undefined;
  if (r.spawnError !== undefined) return { reason: 'spawn-error', message: r.spawnError };
  if (r.timedOut) return { reason: 'timeout', ms: timeoutMs ?? 0 };
  if (r.signal) return { reason: 'signal', signal: r.signal };
  // Neither a code nor a signal: the shell never really ran, which is a start failure.
  if (r.exitCode === null) return { reason: 'spawn-error', message: 'the shell ended without an exit code' };
  return { reason: 'exit-non-zero', code: r.exitCode };
}
