/**
 * The daemon's second door, for the shell client in bin/slipway (Linux): a request pipe
 * `.slipway/daemon.fifo` (0600) beside the socket, and `.slipway/daemon.pid` so the client can see
 * the daemon is alive before it writes. A client makes three pipes in `.slipway/clients/` (a
 * folder of mode 0700 the daemon made): `PID.o` and `PID.e` (the command's stdout and stderr,
 * unless the client's own are a terminal or a pipe, which the command then opens through /proc;
 * `PID.o` is also the client's sign that the command ended) and `PID.s` (answers: `ok SPARE_PID`, `no REASON`, then `exit
 * CODE`), and writes one line, `1 PID ARGC OUT ERR COLUMNS` (OUT, ERR: 1 a terminal, 2 a pipe, 0
 * anything else). Everything else the command needs is read from /proc/PID: the
 * arguments (the last ARGC of its command line), the working folder, the environment and the
 * client script, whose installation must be this build. A line that does not check out in every
 * respect (another user's process or folder, a folder others can enter, a process gone) is dropped;
 * the client then runs the command itself after its 5 s wait, as with an unanswered socket.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { writeAtomicSync } from '../state/atomic-write.js';
import { daemonClientsDir, daemonFifoFile, daemonPidFile } from '../state/paths.js';
import { buildIdOf } from '../util/build-id.js';
import { lineSplitter, type RunRequest } from './protocol.js';

/** A shell client waiting for its command: its process, and its pipes `${pipes}.o`, `.e`, `.s`. */
export interface FifoClient {
  pid: number;
  pipes: string;
  /** Whether its stdout and stderr are a terminal or a pipe, which the command opens through /proc and writes to directly. */
  direct: [boolean, boolean];
}

const LINE = /^1 (\d{1,10}) (\d{1,6}) ([012]) ([012]) (\d{1,6})$/;

/**
 * Creates the request pipe and the pid file of the daemon of `root` and calls `on` with each
 * request that checks out; returns a close that removes both. Undefined where there is no /proc
 * or no mkfifo (the socket still serves the Node.js client).
 */
export function listenFifo(
  root: string,
  on: (client: FifoClient, request: RunRequest) => void,
): (() => void) | undefined {
  const fifo = daemonFifoFile(root);
  const pidFile = daemonPidFile(root);
  const clients = daemonClientsDir(root);
  let fd: number;
  try {
    if (!lstatSync('/proc/self/environ', { throwIfNoEntry: false })) return undefined;
    mkdirSync(clients, { mode: 0o700, recursive: true });
    if (!privateFolder(clients)) return undefined;
    try {
      unlinkSync(fifo);
    } catch {}
    execFileSync('mkfifo', ['-m', '600', fifo], { stdio: 'ignore' });
    // Read-write: the daemon is a writer too, so the pipe never reports an end between clients.
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    writeAtomicSync(pidFile, `${process.pid}\n`);
  } catch {
    return undefined;
  }
  const stream = new net.Socket({ fd, readable: true, writable: false });
  stream.on('error', () => {});
  stream.on(
    'data',
    lineSplitter((line) => {
      const parsed = fifoRequest(line, root, clients);
      if (parsed) on(parsed.client, parsed.request);
    }),
  );
  return () => {
    for (const f of [fifo, pidFile]) {
      try {
        if (f !== pidFile || readFileSync(f, 'utf8').trim() === String(process.pid)) unlinkSync(f);
      } catch {}
    }
    stream.destroy();
  };
}

/** The request a client's line stands for, read from its /proc entry; undefined unless it all checks out. */
function fifoRequest(
  line: string,
  root: string,
  clients: string,
): { client: FifoClient; request: RunRequest } | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, pidText, argcText, outTty, errTty, columns] = m as unknown as string[];
  const pid = Number(pidText);
  const argc = Number(argcText);
  const uid = process.getuid?.();
  const pipes = path.join(clients, String(pid));
  try {
    const proc = `/proc/${pid}`;
    if (lstatSync(proc).uid !== uid || !privateFolder(clients)) return undefined;
    for (const p of ['o', 'e', 's']) {
      const st = lstatSync(`${pipes}.${p}`);
      if (!st.isFIFO() || st.uid !== uid) return undefined;
    }
    const argv = readFileSync(`${proc}/cmdline`, 'utf8').split('\0');
    argv.pop();
    if (argv.length < argc + 1) return undefined;
    const script = argv[argv.length - argc - 1]!;
    const cwd = readlinkSync(`${proc}/cwd`);
    const install = path.dirname(path.dirname(realpathSync(path.resolve(cwd, script))));
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`${proc}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    const cols = Number(columns);
    return {
      client: { pid, pipes, direct: [outTty !== '0', errTty !== '0'] },
      request: {
        kind: 'run',
        build: buildIdOf(install) ?? 'unknown',
        root,
        args: argv.slice(argv.length - argc),
        cwd,
        env,
        stdout: outTty === '1' ? { isTTY: true, ...(cols > 0 ? { columns: cols } : {}) } : { isTTY: false },
        stderr: errTty === '1' ? { isTTY: true, ...(cols > 0 ? { columns: cols } : {}) } : { isTTY: false },
        startedAt: processStart(pid),
      },
    };
  } catch {
    return undefined;
  }
}

/** A folder only this user can enter: a real folder (no symlink), owned by this user, mode 0700. */
function privateFolder(dir: string): boolean {
  const st = lstatSync(dir, { throwIfNoEntry: false });
  return !!st?.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o077) === 0;
}

/** Removes a client's pipes (the processes that have them open keep them until they close). */
export function removePipes(client: FifoClient): void {
  for (const p of ['o', 'e', 's']) {
    try {
      unlinkSync(`${client.pipes}.${p}`);
    } catch {}
  }
}

/** When process `pid` started (ms since the epoch, to the clock tick), for SLIPWAY_TRACE. */
function processStart(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    return Date.now() - (uptime - ticks / 100) * 1000;
  } catch {
    return Date.now();
  }
}

/** Whether the shell client `pid` is still there (not gone, not a zombie). */
export function clientAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Writes one answer line to a client's `s` pipe; false when the client is no longer reading it
 * (never blocks: the client holds its read end open while it waits).
 */
export function answerFifo(client: FifoClient, line: string): boolean {
  try {
    const fd = openSync(`${client.pipes}.s`, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
}
