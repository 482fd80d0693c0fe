/**
 * The daemon's spare process (`dist/cli/daemon-spare.js`, started by daemon/server.ts): it loads
 * everything `run` and `plan` need (the CLI, both commands, SQLite and the query builder, by
 * opening an in-memory store once), says it is ready, and waits. Given a connection and its
 * request, it becomes that client's command for one run: the client's working folder,
 * environment and arguments, stdout and stderr sent back as frames, with the terminal facts the
 * client reported (so colours and the live view match), the client's signals raised here, and
 * SIGTERM when the client goes away (a killed client stops its tasks). Then it sends the exit code
 * and exits: one process per command, as without the daemon.
 */
import { closeSync, constants, open, openSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { answerFifo, clientAlive, type FifoClient, removePipes } from '../daemon/fifo.js';
import { Frame, frame, lineReader, type RunRequest, type TtyFacts } from '../daemon/protocol.js';
import { openSqlite } from '../store/sqlite.js';
import type { Out } from '../util/out.js';
import { trace, traceFrom } from '../util/trace.js';
import { preloadCommands } from './commands.js';
import { reportError } from './context.js';
import { main } from './main.js';
import { Prefetch } from './prefetch.js';

/** An open that waits on a pool thread (a pipe's open waits for its other end) and gives the bare descriptor. */
const openFd = promisify(open);

const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

await preloadCommands(['run', 'plan']);
await (await openSqlite(':memory:', { create: false })).close();

let serving = false;
// A daemon that ends before handing this spare a command takes the spare with it.
process.on('disconnect', () => {
  if (!serving) process.exit(0);
});
process.once('message', (message: { request: RunRequest; fifo?: FifoClient }, socket: Socket | undefined) => {
  serving = true;
  process.disconnect();
  if (socket) void serve(message.request, socket);
  else if (message.fifo) void serveFifo(message.request, message.fifo);
  else process.exit(0);
});
process.send?.({ type: 'ready' });

async function serve(request: RunRequest, socket: Socket): Promise<void> {
  traceFrom(request.startedAt);
  let finished = false;
  const send = (type: number, payload: string | Uint8Array) => {
    if (!socket.destroyed) socket.write(frame(type, payload));
  };
  socket.on('error', () => {});
  socket.on(
    'data',
    lineReader((m) => {
      const signal = (m as { signal?: unknown }).signal;
      if (typeof signal === 'string' && SIGNALS.has(signal))
        process.kill(process.pid, signal as NodeJS.Signals);
    }),
  );
  // The client is gone (killed, or its terminal closed): stop as a run stops on SIGTERM.
  socket.on('close', () => {
    if (!finished) process.kill(process.pid, 'SIGTERM');
  });
  socket.resume();
  send(Frame.accepted, '');

  const code = await runAs(
    request,
    output(request.stdout, (text) => send(Frame.stdout, text)),
    output(request.stderr, (text) => send(Frame.stderr, text)),
  );
  finished = true;
  send(Frame.exit, JSON.stringify({ code }));
  socket.end(() => process.exit());
  setTimeout(() => process.exit(), 5000).unref();
}

/**
 * Serves a shell client (daemon/fifo.ts): says `ok` with this process's id (the client sends its
 * signals here), writes the command's output into the client's pipes, and its exit code on `s`
 * before closing them. A client that goes away (killed) is noticed within a quarter second and
 * stops the run as SIGTERM does.
 */
async function serveFifo(request: RunRequest, client: FifoClient): Promise<void> {
  traceFrom(request.startedAt);
  let finished = false;
  const watch = setInterval(() => {
    if (finished || clientAlive(client.pid)) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 250);
  watch.unref();
  // The client (or its readers) has these pipes open, so the opens return at once; it lets go of
  // its own write ends once it has read `ok`, and from then on it sees the end of `o` when this
  // process closes it or dies.
  const life = await openFd(`${client.pipes}.o`, constants.O_WRONLY);
  const out = client.direct[0] ? await direct(client.pid, 1) : life;
  const err = client.direct[1]
    ? await direct(client.pid, 2)
    : await openFd(`${client.pipes}.e`, constants.O_WRONLY);
  if (!answerFifo(client, `ok ${process.pid}`)) process.exit(0);
  const pipe = (fd: number) => (text: string | Uint8Array) => {
    if (fd < 0) return;
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    } catch {}
  };
  const code = await runAs(request, output(request.stdout, pipe(out)), output(request.stderr, pipe(err)));
  finished = true;
  answerFifo(client, `exit ${code}`);
  // The client has them all open: it reads on, and has nothing left to clean up.
  removePipes(client);
  for (const fd of new Set([out, err, life])) if (fd >= 0) closeSync(fd);
  process.exit();
}

/**
 * The client's own stdout or stderr (a terminal or a pipe), opened through /proc; -1 (output
 * dropped, as writes to a closed pipe are) when a pipe has no reader left.
 */
async function direct(pid: number, fd: 1 | 2): Promise<number> {
  const file = `/proc/${pid}/fd/${fd}`;
  try {
    // Without blocking first: a pipe nobody reads any more would block a plain open for ever.
    closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
    return await openFd(file, constants.O_WRONLY);
  } catch {
    return -1;
  }
}

/** Runs the request's command as the client's process would; its exit code. */
async function runAs(request: RunRequest, stdout: OutStream, stderr: OutStream): Promise<number> {
  // Whatever writes to the process's own streams (traces, a listener's complaint) goes along too.
  process.stdout.write = ((chunk: string | Uint8Array) => stdout.write(chunk)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => stderr.write(chunk)) as typeof process.stderr.write;
  const ctx = { stdout, stderr, env: process.env, prefetch: Prefetch.none() };
  try {
    process.chdir(request.cwd);
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, request.env);
    process.argv = [process.argv[0]!, process.argv[1]!, ...request.args];
    ctx.prefetch = Prefetch.start(process.argv);
    await main(process.argv, ctx);
  } catch (e) {
    process.exitCode = reportError(ctx, e);
  }
  trace('command returned');
  return Number(process.exitCode ?? 0) || 0;
}

type OutStream = Out & { write(text: string | Uint8Array): boolean };

function output(facts: TtyFacts, write: (text: string | Uint8Array) => void): OutStream {
  return {
    write: (text) => {
      write(text);
      return true;
    },
    isTTY: facts.isTTY,
    ...(facts.columns ? { columns: facts.columns } : {}),
  };
}
