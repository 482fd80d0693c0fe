/**
 * A spare task shell: the next task's process group leader (gate.ts), started while nothing
 * waits for it, so that starting a command costs writing its script into a pipe instead of a
 * fork of this (large) process and an exec, which on a loaded machine take tens of ms on the
 * critical path. The spare is told to the guard as it starts, like any task group; it runs
 * nothing until its script arrives, and ends by itself on end-of-file when slipway dies.
 *
 * The script carries what differs from the spare's own start: the task's folder (`cd`) and its
 * environment as differences from the spare's (`export`, `unset`). A variable whose name a shell
 * cannot set makes the spare unusable for that task; a fresh shell runs it instead.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { shellQuote, spawnGate } from './gate.js';
import type { ProcessGuard } from './process-guard.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Set by `cd` itself: not part of the difference (a fresh shell sets it from its folder too). */
const BY_CD = new Set(['PWD', 'OLDPWD']);

export class SpareShell {
  readonly #child: ChildProcess;
  readonly #env: NodeJS.ProcessEnv;
  readonly #guard: ProcessGuard | undefined;
  readonly pgid: number;
  #gone = false;
  readonly #onExit = () => this.#ended();

  private constructor(child: ChildProcess, pgid: number, env: NodeJS.ProcessEnv, guard?: ProcessGuard) {
    this.#child = child;
    this.pgid = pgid;
    this.#env = env;
    this.#guard = guard;
    child.once('exit', this.#onExit);
    // Waiting, it keeps nothing alive: not slipway's event loop, not its exit.
    child.unref();
    for (const s of child.stdio) (s as { unref?(): void } | null)?.unref?.();
  }

  /** Starts one in `cwd` with `env`; undefined when it could not start. */
  static start(cwd: string, env: NodeJS.ProcessEnv, guard?: ProcessGuard): SpareShell | undefined {
    let child: ChildProcess;
    try {
      child = spawnGate(cwd, env);
    } catch {
      return undefined;
    }
    child.on('error', () => {});
    child.stdin?.on('error', () => {});
    if (child.pid === undefined) return undefined;
    guard?.started(child.pid);
    return new SpareShell(child, child.pid, env, guard);
  }

  /**
   * The `cd`, `export` and `unset` lines that make this shell's folder and environment those of
   * `cwd` and `env`; undefined when a name cannot be set from a shell.
   */
  prelude(cwd: string, env: NodeJS.ProcessEnv): string[] | undefined {
    const lines = [`cd -- ${shellQuote(path.resolve(cwd))} || exit 125`];
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined || BY_CD.has(k) || this.#env[k] === v) continue;
      if (!NAME.test(k)) return undefined;
      lines.push(`export ${k}=${shellQuote(v)}`);
    }
    for (const k of Object.keys(this.#env)) {
      if (env[k] !== undefined || BY_CD.has(k) || this.#env[k] === undefined) continue;
      if (!NAME.test(k)) return undefined;
      lines.push(`unset ${k}`);
    }
    // cd sets OLDPWD to the spare's folder: as the task's environment has it instead.
    lines.push(env.OLDPWD === undefined ? 'unset OLDPWD' : `export OLDPWD=${shellQuote(env.OLDPWD)}`);
    return lines;
  }

  /** Still waiting for its script. */
  get alive(): boolean {
    return !this.#gone && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Hands the shell over to run a task: it counts for slipway's event loop again. */
  take(): ChildProcess {
    this.#child.off('exit', this.#onExit);
    this.#gone = true;
    this.#child.ref();
    for (const s of this.#child.stdio) (s as { ref?(): void } | null)?.ref?.();
    return this.#child;
  }

  /** Not needed any more: it ends (end-of-file, then the group is killed). */
  discard(): void {
    if (!this.alive) return;
    this.#child.stdin?.destroy();
    try {
      process.kill(-this.pgid, 'SIGKILL');
    } catch {
      // already gone
    }
    this.#ended();
  }

  #ended(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#guard?.ended(this.pgid);
  }
}
