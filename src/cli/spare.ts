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
import { closeSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { answerFifo, clientAlive, type FifoClient } from '../daemon/fifo.js';
import { Frame, frame, lineReader, type RunRequest, type TtyFacts } from '../daemon/protocol.js';
import { openSqlite } from '../store/sqlite.js';
import type { Out } from '../util/out.js';
import { trace, traceFrom } from '../util/trace.js';
import { preloadCommands } from './commands.js';
import { reportError } from './context.js';
import { main } from './main.js';
import { Prefetch } from './prefetch.js';

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
  // The client's readers have these pipes open (so the opens return at once); it lets go of its
  // own write ends once it has read `ok`, and from then on the readers end when these close.
  const [out, err] = await Promise.all(['o', 'e'].map((p) => open(path.join(client.dir, p), 'w')));
  if (!answerFifo(client, `ok ${process.pid}`)) process.exit(0);
  const pipe = (fd: number) => (text: string | Uint8Array) => {
    const bytes = typeof text === 'string' ? Buffer.from(text) : text;
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    } catch {}
  };
  const code = await runAs(
    request,
    output(request.stdout, pipe(out!.fd)),
    output(request.stderr, pipe(err!.fd)),
  );
  finished = true;
  answerFifo(client, `exit ${code}`);
  for (const fd of [out!.fd, err!.fd]) closeSync(fd);
  process.exit();
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
