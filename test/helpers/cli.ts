/**
 * A small rig for end-to-end tests: a temporary workspace, the built CLI run as a real process,
 * its output, exit code and files. Reusable by every area's tests (`import ... from './cli.js'`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

/** The built CLI entry point (run `npm run build` first; `npm test` does). */
export const SLIPWAY_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/slipway.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Kill the CLI (SIGKILL) after this long; the test then sees signal SIGKILL. Default 30 s. */
  timeoutMs?: number;
  input?: string;
  /**
   * Execute bin/slipway.js itself, as a user's shell does (its /bin/sh launcher: the daemon's
   * native client when it was compiled), rather than `node bin/slipway.js`.
   */
  direct?: boolean;
}

/** Environment for the CLI: no TTY colours, no inherited store override. */
function cliEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' };
  delete env.SLIPWAY_STORE;
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A running CLI process with its output collected so far. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits. */
  done: Promise<CliResult>;
}

/** Starts the CLI without waiting for it (for signals mid-run). */
export function spawnCli(args: string[], opts: RunOptions): CliProcess {
  const [file, argv] = opts.direct ? [SLIPWAY_BIN, args] : [process.execPath, [SLIPWAY_BIN, ...args]];
  const child = spawn(file, argv, {
    cwd: opts.cwd,
    env: cliEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, stdout: () => out, stderr: () => err, done };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], opts: RunOptions): Promise<CliResult> {
  return spawnCli(args, opts).done;
}

/** A temporary folder holding a pipeline; removed by `cleanup()`. */
export class Workspace {
  readonly dir: string;

  constructor(prefix = 'slipway-test-') {
    this.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  /** Absolute path of a file inside the workspace. */
  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** Writes a file (parents created); returns its absolute path. */
  write(rel: string, text: string): string {
    const p = this.path(rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  }

  /** Writes slipway.yml (or another name). */
  pipeline(yaml: string, rel = 'slipway.yml'): string {
    return this.write(rel, yaml);
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return existsSync(this.path(rel));
  }

  /** Runs the CLI with this workspace as its working directory. */
  run(args: string[], opts: Omit<RunOptions, 'cwd'> = {}): Promise<CliResult> {
    return runCli(args, { ...opts, cwd: this.dir });
  }

  spawn(args: string[], opts: Omit<RunOptions, 'cwd'> = {}): CliProcess {
    return spawnCli(args, { ...opts, cwd: this.dir });
  }

  /** Parses a JSON file written by the CLI (e.g. `--summary summary.json`). */
  json<T = unknown>(rel: string): T {
    return JSON.parse(this.read(rel)) as T;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A task in a pipeline written by a test (the slipway.yml keys, untyped on purpose). */
export type TaskSpec = { run: string; needs?: string[]; [key: string]: unknown };

/** slipway.yml text for the given tasks and top-level keys. */
export function pipelineYaml(tasks: Record<string, TaskSpec>, top: Record<string, unknown> = {}): string {
  return stringify({ version: 1, ...top, tasks });
}

/** Kills a task's whole process group (tasks run in their own group) and the pid itself. */
export function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Creates a workspace, optionally with a pipeline file. */
export function workspace(yaml?: string): Workspace {
  const ws = new Workspace();
  if (yaml !== undefined) ws.pipeline(yaml);
  return ws;
}

/** The run summary (README: `slipway run`, --summary), as tests read it. */
export interface SummaryTask {
  id: string;
  status: 'success' | 'failed' | 'skipped' | 'cancelled';
  cache: 'hit-local' | 'hit-remote' | 'miss' | 'disabled';
  hash?: string;
  startedAt?: string | null;
  endedAt?: string | null;
  durationMs: number;
  predictedMs: number;
  exitCode: number | null;
  cpuSeconds: number;
  peakRssBytes: number;
  attempts?: number;
  [k: string]: unknown;
}

export interface RunSummary {
  version: number;
  id: string;
  status: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  concurrency: number;
  lowerBoundMs: number;
  predictedMakespanMs: number;
  criticalPath: string[];
  tasks: SummaryTask[];
  [k: string]: unknown;
}

/** Reads a run summary and indexes its tasks by id. */
export function readSummary(
  ws: Workspace,
  rel = 'summary.json',
): RunSummary & { byId: Map<string, SummaryTask> } {
  const s = ws.json<RunSummary>(rel);
  return { ...s, byId: new Map(s.tasks.map((t) => [t.id, t])) };
}

/** Epoch ms of an ISO timestamp (throws on a missing one so a test fails loudly). */
export function ms(iso: string | null | undefined): number {
  if (!iso) throw new Error(`missing timestamp: ${String(iso)}`);
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`not an ISO timestamp: ${iso}`);
  return t;
}

/** Polls until `check` returns true (or a value), or throws after `timeoutMs` (generous: a loaded machine is slow). */
export async function waitFor<T>(
  check: () => T | undefined | false,
  { timeoutMs = 30_000, everyMs = 25, what = 'condition' } = {},
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True while a process with this pid exists (signal 0 probes without killing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM means it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped: PID 1 in a container may never reap orphans) is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    // No /proc (not Linux): trust kill(0). With /proc, an unreadable entry means it just exited.
    return !existsSync('/proc/self');
  }
}

/** Reads a pid written by a task (`echo $$ > file`), or undefined if not there yet. */
export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Stack frames ("    at fn (file:1:2)") in CLI output mean an internal error leaked. */
export const STACK_FRAME = /^\s+at .+[(:]\d+/m;
