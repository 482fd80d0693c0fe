/** Runs a command to completion, timing it from spawn to exit. */
import { spawn } from 'node:child_process';

export interface Timed {
  wallMs: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `cmd args` in `cwd` and resolves when it exits (never rejects on a non-zero exit). */
export function timed(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ wallMs: performance.now() - started, code, stdout, stderr }));
  });
}

/** The last lines of a process's output, for error messages. */
export function tail(t: Timed, lines = 15): string {
  return `${t.stdout}\n${t.stderr}`.trim().split('\n').slice(-lines).join('\n');
}
