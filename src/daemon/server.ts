/**
 * The daemon: one resident process per checkout (`node dist/cli/daemon-server.js ROOT`) that keeps
 * a *spare* ready, a child process that has already loaded everything `run`, `plan` and `deploy` need
 * (cli/spare.ts). A request is read and checked here, then the connection itself is handed to
 * the spare, which runs that one command as the client's process would and exits; the daemon
 * starts the next spare at once. So every command still runs in a fresh process (git, the ledger
 * and the outputs are read again, nothing is left over from the last run) and none pays for
 * loading the code.
 *
 * It serves only its checkout and only its own build (a client of another build gets `stale`,
 * and this daemon steps down for the new one), listens on a 0600 socket (socket-path.ts), and
 * exits after ten idle minutes, when `.slipway/` or its socket is removed, or on `daemon stop`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { chmodSync, existsSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { stateDir, stateDirOf } from '../state/paths.js';
import { buildId } from '../util/build-id.js';
import { type DaemonStatus, Frame, frame, type Request, type RunRequest } from './protocol.js';
import { socketPath } from './socket-path.js';

const IDLE_MS = 10 * 60_000;
const WATCH_MS = 2000;
/** Spares that die before they are ready, in a row, before the daemon gives up. */
const MAX_FAILED_SPARES = 3;

const tty = z.object({ isTTY: z.boolean(), columns: z.number().int().positive().optional() });
const requestSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('run'),
    build: z.string(),
    root: z.string(),
    args: z.array(z.string()),
    cwd: z.string(),
    env: z.record(z.string(), z.string()),
    stdout: tty,
    stderr: tty,
    startedAt: z.number(),
  }),
  z.object({ kind: z.enum(['status', 'stop']) }),
]);

class Daemon {
  readonly #build = buildId();
  readonly #startedAt = Date.now();
  readonly #spareScript = fileURLToPath(new URL('./daemon-spare.js', import.meta.url));
  readonly #ready: ChildProcess[] = [];
  readonly #waiting: { socket: net.Socket; request: RunRequest }[] = [];
  #warming = 0;
  /** Spares running a command. */
  #busy = 0;
  #failed = 0;
  #served = 0;
  #idle: NodeJS.Timeout | undefined;
  #ino = 0;
  #closing = false;

  constructor(
    readonly root: string,
    readonly socket: string,
    readonly server: net.Server,
  ) {}

  start(): void {
    this.#ino = statSync(this.socket).ino;
    this.#touch();
    setInterval(() => this.#watch(), WATCH_MS).unref();
    this.#replenish();
    this.server.on('connection', (s) => this.#accept(s));
  }

  /** Reads one request line, checks it, and answers it or hands the connection to a spare. */
  #accept(socket: net.Socket): void {
    socket.on('error', () => {});
    let text = '';
    // A character whose bytes arrive in two chunks (a non-ASCII argument or path) stays whole.
    const utf8 = new StringDecoder('utf8');
    const onData = (chunk: Buffer) => {
      text += utf8.write(chunk);
      const nl = text.indexOf('\n');
      if (nl < 0) {
        if (text.length > 1 << 20) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      let parsed: ReturnType<typeof requestSchema.safeParse>;
      try {
        parsed = requestSchema.safeParse(JSON.parse(text.slice(0, nl)));
      } catch {
        return void socket.destroy();
      }
      if (!parsed.success) return void socket.destroy();
      this.#handle(socket, parsed.data as Request);
    };
    socket.on('data', onData);
  }

  #handle(socket: net.Socket, request: Request): void {
    this.#touch();
    if (request.kind !== 'run') {
      socket.end(frame(Frame.reply, JSON.stringify(this.#status())));
      if (request.kind === 'stop') this.close();
      return;
    }
    if (request.build !== this.#build) {
      // A client of another build: it runs the command itself and starts its own daemon.
      socket.end(frame(Frame.refused, JSON.stringify({ reason: 'stale' })));
      this.close();
      return;
    }
    if (request.root !== this.root) {
      socket.end(frame(Frame.refused, JSON.stringify({ reason: 'root' })));
      return;
    }
    this.#waiting.push({ socket, request });
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#waiting.length && this.#ready.length) {
      const { socket, request } = this.#waiting.shift()!;
      const spare = this.#ready.shift()!;
      if (socket.destroyed) {
        this.#ready.unshift(spare);
        continue;
      }
      // The spare closes the channel once it has the connection (cli/spare.ts).
      spare.send({ type: 'run', request }, socket);
      this.#served++;
      this.#busy++;
      spare.once('exit', () => {
        this.#busy--;
        this.#replenish();
      });
    }
    this.#replenish();
  }

  /**
   * Keeps a spare for each connection waiting, and one ready for the next. That one is started
   * once no command is running: loading it beside a run would take a core from the run.
   */
  #replenish(): void {
    if (this.#closing) return;
    const wanted = Math.max(this.#waiting.length, this.#busy ? 0 : 1);
    while (this.#ready.length + this.#warming < wanted) {
      this.#warming++;
      const child = fork(this.#spareScript, [], {
        cwd: this.root,
        stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
        // Compile every function while the spare waits rather than on its first call in the
        // command: measured ~15 ms less CPU per fully cached run of 60 packages, for ~45 ms more
        // CPU and ~4 MB when the spare loads (in the background). `gc` lets the spare collect
        // what loading left behind before it says it is ready (cli/spare.ts).
        execArgv: ['--no-lazy', '--expose-gc'],
      });
      let ready = false;
      child.once('message', () => {
        ready = true;
        this.#warming--;
        this.#failed = 0;
        if (this.#closing) return void child.kill();
        this.#ready.push(child);
        this.#dispatch();
      });
      child.once('exit', () => {
        const i = this.#ready.indexOf(child);
        if (i >= 0) this.#ready.splice(i, 1);
        if (ready) return;
        this.#warming--;
        if (++this.#failed >= MAX_FAILED_SPARES) this.close();
        else this.#replenish();
      });
    }
  }

  #status(): DaemonStatus {
    return {
      pid: process.pid,
      root: this.root,
      socket: this.socket,
      build: this.#build,
      startedAt: this.#startedAt,
      served: this.#served,
      ready: this.#ready.length,
    };
  }

  #touch(): void {
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.close(), IDLE_MS);
  }

  /** Ends the daemon when its checkout's state folder or its socket is gone or replaced. */
  #watch(): void {
    const st = statSync(this.socket, { throwIfNoEntry: false });
    if (!existsSync(stateDirOf(this.root)) || st?.ino !== this.#ino) this.close();
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.server.close();
    if (statSync(this.socket, { throwIfNoEntry: false })?.ino === this.#ino) {
      try {
        unlinkSync(this.socket);
      } catch {}
    }
    for (const c of this.#ready) c.kill();
    for (const { socket } of this.#waiting) socket.destroy();
    // Let the last replies flush; spares already serving a command finish it on their own.
    setTimeout(() => process.exit(0), 100).unref();
  }
}

/** Listens on `socket` with mode 0600 from the start (no moment where another user could connect). */
function listen(socket: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    const mask = process.umask(0o177);
    server.once('error', (e) => {
      process.umask(mask);
      reject(e);
    });
    server.listen(socket, () => {
      process.umask(mask);
      chmodSync(socket, 0o600);
      resolve(server);
    });
  });
}

/** Asks whatever listens on `socket` for its status; undefined when nothing answers. */
function probe(socket: string): Promise<DaemonStatus | undefined> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    let text = Buffer.alloc(0);
    c.on('connect', () => c.write(`${JSON.stringify({ kind: 'status' })}\n`));
    c.on('data', (d) => {
      text = Buffer.concat([text, d]);
    });
    c.on('error', () => resolve(undefined));
    c.on('close', () => {
      try {
        resolve(text[0] === Frame.reply ? JSON.parse(text.subarray(5).toString()) : undefined);
      } catch {
        resolve(undefined);
      }
    });
    setTimeout(() => c.destroy(), 3000).unref();
  });
}

async function main(rootArg: string | undefined): Promise<void> {
  if (!rootArg) throw new Error('usage: daemon-server.js ROOT');
  const root = path.resolve(rootArg);
  stateDir(root);
  const socket = socketPath(root, { create: true });
  if (!socket) return;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return new Daemon(root, socket, await listen(socket)).start();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
    const other = await probe(socket);
    if (other?.build === buildId()) return; // this build's daemon is already serving
    if (other) {
      // Another build's daemon: ask it to step down, then take its place.
      const stop = net.connect(socket);
      stop.on('error', () => {});
      stop.write(`${JSON.stringify({ kind: 'stop' })}\n`);
      await new Promise((r) => setTimeout(r, 300));
    } else {
      try {
        unlinkSync(socket); // a socket nobody listens on: left by a daemon that was killed
      } catch {}
    }
  }
}

await main(process.argv[2]);
