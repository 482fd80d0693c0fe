/**
 * The task's shell: the process group leader every task command runs under (runner.ts). It
 * starts waiting: the command, and for a spare shell (spare-shell.ts) its folder and environment,
 * arrive on stdin as a short script from slipway, sent once the group is known to the guard
 * (process-guard.ts). There is no moment in which the command runs and a crash of slipway could
 * leave it behind unrecorded: if slipway dies first, the shell reads end-of-file without the
 * script's last line and exits without running anything.
 *
 * The shell stays the group's leader and reaps the command, so its own /proc counters then hold
 * the whole tree's CPU and I/O; it writes them to fd 3 before it exits (Node reaps it at once,
 * after which nothing can read them). Signals: TERM, INT and HUP reach the command through the
 * group; the shell only notes them (a trapped signal waits for the foreground command), so the
 * command keeps its grace period. A command killed by a signal is re-raised on the shell, so the
 * task still ends "by signal" (a command that exits 128+n itself reads the same way).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The script's last line: without it (slipway died while writing) nothing runs. */
const GO = 'slipway_go=1';

const GATE = [
  'slipway_s=',
  // Every line up to end-of-file (slipway closes stdin after the script).
  'while IFS= read -r slipway_l; do slipway_s="$slipway_s$slipway_l',
  '"; done',
  'eval "$slipway_s"',
  '[ "$slipway_go" = 1 ] || exit 125',
  'unset slipway_s slipway_l slipway_go',
  "trap ':' TERM INT HUP",
  '/bin/sh -c "$slipway_cmd" </dev/null 3>&-',
  's=$?',
  '{ { while IFS= read -r l; do printf \'%s\\n\' "$l"; done </proc/$$/io; IFS= read -r l </proc/$$/stat && printf \'stat %s\\n\' "$l"; } >&3; } 2>/dev/null',
  'exec 3>&-',
  'if [ "$s" -gt 128 ] && [ "$s" -lt 160 ]; then trap - TERM INT HUP; kill -$((s - 128)) $$; fi',
  'exit "$s"',
].join('\n');

const HAS_PROC_IO = process.platform === 'linux' && existsSync(`/proc/${process.pid}/io`);

/** Starts a task's shell, waiting for its script; its own process group. */
export function spawnGate(cwd: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('/bin/sh', ['-c', GATE, 'slipway-task'], {
    cwd,
    env,
    detached: true, // setsid: the task gets its own process group, killed as a whole
    // fd 3: the shell's final counters; only where /proc has them.
    stdio: HAS_PROC_IO ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
  });
}

/** A shell word for any string: single-quoted, with `'` written as `'\''`. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** What the shell reads on stdin: `prelude` lines (a spare's folder and environment), then the command. */
export function gateScript(command: string, prelude: readonly string[] = []): string {
  return `${[...prelude, `slipway_cmd=${shellQuote(command)}`, GO].join('\n')}\n`;
}
