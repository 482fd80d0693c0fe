/**
 * The application process of the active release: started by `/bin/sh -c` in its own process
 * group, logged to app.log, stopped with SIGTERM then SIGKILL. Its pid is written to app.json so
 * an agent that crashed and restarted adopts the running app instead of starting a second one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../../state/atomic-write.js';

export interface AppSpec {
  command: string;
  env: Record<string, string>;
}

export interface AppStatus {
  running: boolean;
  pid: number | null;
  release: string | null;
  command: string | null;
  startedAt: number | null;
  exitCode: number | null;
}

interface Record_ {
  pid: number;
  release: string;
  command: string;
  env: Record<string, string>;
  startedAt: number;
}

export class AppSupervisor {
  #rec: Record_ | null = null;
  #child: ChildProcess | null = null;
  #exitCode: number | null = null;

  constructor(
    readonly file: string,
    readonly logFile: string,
  ) {}

  /** Adopts an app left running by a previous agent process. */
  async adopt(): Promise<void> {
    try {
      const rec = JSON.parse(await readFile(this.file, 'utf8')) as Record_;
      if (alive(rec.pid)) this.#rec = rec;
    } catch {
      // No record: nothing was running.
    }
  }

  /** The last spec started, so a restart or a rollback can reuse it. */
  get spec(): AppSpec | null {
    return this.#rec ? { command: this.#rec.command, env: this.#rec.env } : null;
  }

  status(): AppStatus {
    const r = this.#rec;
    const running = r !== null && alive(r.pid) && (this.#child === null || this.#child.exitCode === null);
    return {
      running,
      pid: r?.pid ?? null,
      release: r?.release ?? null,
      command: r?.command ?? null,
      startedAt: r?.startedAt ?? null,
      exitCode: this.#exitCode,
    };
  }

  /** Starts the app in `cwd` (the release folder). */
  async start(opts: {
    cwd: string;
    release: string;
    spec: AppSpec;
    extraEnv: Record<string, string>;
  }): Promise<number> {
    const log = openSync(this.logFile, 'a');
    try {
      const child = spawn('/bin/sh', ['-c', opts.spec.command], {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.spec.env, ...opts.extraEnv },
        detached: true,
        stdio: ['ignore', log, log],
      });
      this.#child = child;
      this.#exitCode = null;
      child.on('exit', (code, signal) => {
        if (this.#child === child) this.#exitCode = code ?? (signal ? 128 : null);
      });
      child.on('error', () => {});
      child.unref();
      const pid = child.pid ?? -1;
      this.#rec = {
        pid,
        release: opts.release,
        command: opts.spec.command,
        env: opts.spec.env,
        startedAt: Date.now(),
      };
      await writeAtomic(this.file, JSON.stringify(this.#rec));
      return pid;
    } finally {
      closeSync(log);
    }
  }

  /** Stops the app's whole process group; SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    const r = this.#rec;
    this.#rec = null;
    this.#child = null;
    await rm(this.file, { force: true });
    if (!r || !alive(r.pid)) return;
    signalGroup(r.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (alive(r.pid) && Date.now() < deadline) await sleep(25);
    if (alive(r.pid)) {
      signalGroup(r.pid, 'SIGKILL');
      while (alive(r.pid)) await sleep(10);
    }
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // Already gone.
    }
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch {
    return false;
  }
}

// A child that exited but was not reaped yet still answers kill(0); /proc tells the truth.
function isZombie(pid: number): boolean {
  try {
    return readFileSync(path.join('/proc', String(pid), 'stat'), 'utf8').includes(') Z');
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
