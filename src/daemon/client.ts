/**
 * The client side of the daemon, loaded by bin/slipway.js before anything heavy: for a `run` or
 * `plan`, connect to the checkout's daemon, hand it the command (argv, cwd, environment, what the
 * terminal is), copy its stdout and stderr through, forward SIGINT/SIGTERM/SIGHUP, and return its
 * exit code. Anything short of an accepted command (no daemon, a refusal, a stale build, a
 * connection error, a slow answer) returns `ran: false`, and the command runs in this process as
 * it would without a daemon: the daemon can make a command faster, never make it fail.
 * The native client (client.c) does the same without Node.js's start-up, and hands a command it
 * could not place to this one with its verdict (`NativeVerdict`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanCommandLine } from '../command-line.js';
import { findPipelineFile } from '../config/find-file.js';
import { buildId } from '../util/build-id.js';
import { Frame, frameReader, type RunRequest } from './protocol.js';
import { socketPath } from './socket-path.js';

export type DaemonAnswer =
  /** The daemon ran the command: exit with `code`. */
  | { ran: true; code: number }
  /** Run it here; `start` (when set) starts a daemon for the next command. */
  | { ran: false; start?: () => void };

/** How long a daemon may take to hand the command to a process before this one runs it itself. */
const ACCEPT_TIMEOUT_MS = 5000;

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_CODES: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Whether the daemon may serve these arguments: off with --no-daemon or SLIPWAY_DAEMON=0, off by
 * default where CI is set (SLIPWAY_DAEMON=1 turns it on there), and only for `run`, `plan` and
 * `deploy`.
 */
export function daemonAllowed(args: readonly string[], env: NodeJS.ProcessEnv): boolean {
  if (args.includes('--no-daemon')) return false;
  const setting = env.SLIPWAY_DAEMON;
  if (setting === '0' || setting === 'false') return false;
  if (env.CI && env.CI !== 'false' && setting !== '1' && setting !== 'true') return false;
  // Fault injection (test/faults/) arms this process: never hand it to another.
  if (env.SLIPWAY_FAILPOINT) return false;
  const { command } = scanCommandLine(args);
  return command === 'run' || command === 'plan' || command === 'deploy';
}

/**
 * What the native client (client.c) found when it asked this command's daemon before handing the
 * command to Node.js: `absent` (nothing listens) or `stale` (another build, stepping down) mean
 * start a daemon after the command; `declined`, start none. Either way, do not ask again.
 */
export type NativeVerdict = 'absent' | 'stale' | 'declined';

/** SLIPWAY_DAEMON_TRIED as the native client sets it; undefined for any other value. */
export function nativeVerdict(value: string | undefined): NativeVerdict | undefined {
  return value === 'absent' || value === 'stale' || value === 'declined' ? value : undefined;
}

/**
 * Runs the command `argv` names through the checkout's daemon, when there is one that takes it.
 * `tried`: the native client's answer for this command, which is not asked for again.
 */
export async function viaDaemon(argv: readonly string[], tried?: NativeVerdict): Promise<DaemonAnswer> {
  const args = argv.slice(2);
  if (!daemonAllowed(args, process.env)) return { ran: false };
  const { file } = scanCommandLine(args);
  const pipeline = file ?? findPipelineFile(process.cwd());
  if (!pipeline || !existsSync(pipeline)) return { ran: false };
  const root = path.dirname(path.resolve(pipeline));
  const sock = socketPath(root);
  if (!sock) return { ran: false };
  const start = () => spawnDaemon(root);
  if (tried) return tried === 'declined' ? { ran: false } : { ran: false, start };
  const request: RunRequest = {
    kind: 'run',
    build: buildId(),
    root,
    args,
    cwd: process.cwd(),
    env: process.env as Record<string, string>,
    stdout: tty(process.stdout),
    stderr: tty(process.stderr),
    startedAt: performance.timeOrigin,
  };
  return new Promise((resolve) => {
    let accepted = false;
    let code: number | undefined;
    let signalled: string | undefined;
    const socket = net.connect(sock);
    const forward = (signal: NodeJS.Signals) => {
      signalled = signal;
      socket.write(`${JSON.stringify({ signal })}\n`);
    };
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ran: false });
    }, ACCEPT_TIMEOUT_MS);
    socket.on('connect', () => {
      clientTrace('connected');
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on(
      'data',
      frameReader((type, payload) => {
        if (type === Frame.accepted) {
          accepted = true;
          clientTrace('accepted');
          clearTimeout(timer);
          for (const s of FORWARDED) process.on(s, forward);
        } else if (type === Frame.refused) {
          clearTimeout(timer);
          socket.destroy();
          // A daemon of another build steps down when asked: start this build's.
          const stale = JSON.parse(payload.toString()).reason === 'stale';
          resolve(stale ? { ran: false, start } : { ran: false });
        } else if (type === Frame.stdout) process.stdout.write(payload);
        else if (type === Frame.stderr) process.stderr.write(payload);
        else if (type === Frame.exit) {
          code = Number(JSON.parse(payload.toString()).code) || 0;
          clientTrace('exit code received');
        }
      }),
    );
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (accepted) return;
      clearTimeout(timer);
      const absent = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      resolve(absent ? { ran: false, start } : { ran: false });
    });
    socket.on('close', () => {
      if (!accepted) {
        clearTimeout(timer);
        return resolve({ ran: false });
      }
      for (const s of FORWARDED) process.off(s, forward);
      if (code !== undefined) return resolve({ ran: true, code });
      // The command's process ended without an exit code: killed by the signal forwarded, or it crashed.
      if (signalled) return resolve({ ran: true, code: SIGNAL_CODES[signalled] ?? 1 });
      process.stderr.write("slipway: the daemon's process for this command ended unexpectedly\n");
      resolve({ ran: true, code: 1 });
    });
  });
}

/** SLIPWAY_TRACE=1: the client's own steps, in the form of util/trace.ts (which it does not load). */
function clientTrace(label: string): void {
  if (process.env.SLIPWAY_TRACE)
    process.stderr.write(`[trace] ${performance.now().toFixed(1).padStart(7)} ms  client: ${label}\n`);
}

function tty(s: NodeJS.WriteStream): RunRequest['stdout'] {
  return s.isTTY ? { isTTY: true, ...(s.columns ? { columns: s.columns } : {}) } : { isTTY: false };
}

/**
 * Starts the daemon of the checkout at `root` in the background (its own session, no terminal,
 * no output), for this build; it exits by itself when idle. Never throws.
 */
export function spawnDaemon(root: string, env: NodeJS.ProcessEnv = process.env): void {
  const server = fileURLToPath(new URL('./daemon-server.js', import.meta.url));
  if (!existsSync(server)) return;
  try {
    spawn(process.execPath, [server, root], { cwd: root, detached: true, stdio: 'ignore', env })
      .on('error', () => {})
      .unref();
  } catch {}
}
