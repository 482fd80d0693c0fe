/**
 * The daemon's spare process (`dist/cli/daemon-spare.js`, started by daemon/server.ts): it loads
 * everything `run`, `plan` and `deploy` need (the CLI, those commands, SQLite and the query builder, by
 * opening an in-memory store once), prepares what does not depend on the request (cli/prepared.ts:
 * the checkout's history store, opened), says it is ready, and waits. Given a connection and its
 * request, it becomes that client's command for one run: the client's working folder,
 * environment and arguments, stdout and stderr sent back as frames, with the terminal facts the
 * client reported (so colours and the live view match), the client's signals raised here, and
 * SIGTERM when the client goes away (a killed client stops its tasks). Then it sends the exit code,
 * finishes what nobody waits for (closing the store, which checkpoints its log) and exits: one
 * process per command, as without the daemon.
 */
import type { Socket } from 'node:net';
import { Frame, frame, lineReader, type RunRequest, type TtyFacts } from '../daemon/protocol.js';
import { openSqlite } from '../store/sqlite.js';
import type { Out } from '../util/out.js';
import { trace, traceFrom } from '../util/trace.js';
import { preloadCommands } from './commands.js';
import { type CliContext, reportError } from './context.js';
import { main } from './main.js';
import { Prefetch } from './prefetch.js';
import { Prepared, SERVED } from './prepared.js';

const SIGNALS = new Set(['SIGINT', 'SIGTERM', 'SIGHUP']);

await preloadCommands(SERVED);
// The pipeline file's parser and schema (YAML, zod): commands take the pipeline's snapshot when
// the file is unchanged, but the first command after an edit parses it, and loading them costs
// ~70 ms of CPU that the command would wait for.
await import('../config/load.js');
await (await openSqlite(':memory:', { create: false })).close();
// The command's context, filled in when it comes: what is prepared reads it only then.
const ctx: CliContext = { stdout: process.stdout, stderr: process.stderr, env: process.env };
// The daemon serves one checkout, and starts its spares there.
const prepared = await Prepared.for(process.cwd(), ctx);

let serving = false;
/** Ends a spare that will serve nothing, releasing what it prepared (the store's log files go). */
const retire = (code: number) => () => void prepared.finish().finally(() => process.exit(code));
const onTerm = retire(143);
// A daemon that ends before handing this spare a command takes the spare with it (it kills a
// spare left ready when it stops).
process.on('disconnect', () => {
  if (!serving) retire(0)();
});
process.once('SIGTERM', onTerm);
process.once('message', (message: { request: RunRequest }, socket: Socket | undefined) => {
  serving = true;
  // From here on SIGTERM is the command's (a run stops its tasks on it).
  process.off('SIGTERM', onTerm);
  process.disconnect();
  if (socket) void serve(message.request, socket);
  else retire(0)();
});
// What preloading left in the young generation goes now, not in the command's first collection.
(globalThis as { gc?: () => void }).gc?.();
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

  const stdout = output(Frame.stdout, request.stdout, send);
  const stderr = output(Frame.stderr, request.stderr, send);
  // Whatever writes to the process's own streams (traces, a listener's complaint) goes along too.
  process.stdout.write = ((chunk: string | Uint8Array) => stdout.write(chunk)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => stderr.write(chunk)) as typeof process.stderr.write;
  Object.assign(ctx, { stdout, stderr, prefetch: Prefetch.none() });
  try {
    process.chdir(request.cwd);
    replaceEnv(request.env);
    process.argv = [process.argv[0]!, process.argv[1]!, ...request.args];
    ctx.prefetch = prepared.start(process.argv);
    await main(process.argv, ctx, prepared.program(request.args));
  } catch (e) {
    process.exitCode = reportError(ctx, e);
  }
  finished = true;
  trace('command returned');
  send(Frame.exit, JSON.stringify({ code: Number(process.exitCode ?? 0) || 0 }));
  setTimeout(() => process.exit(), 5000).unref();
  // Everything the client or a next command could see is in place: what is left waits for nobody.
  await Promise.all([new Promise<void>((r) => socket.end(r)), prepared.finish()]);
  process.exit();
}

/** Makes this process's environment `env`, touching only the variables that differ. */
function replaceEnv(env: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (!Object.hasOwn(env, k)) delete process.env[k];
  for (const [k, v] of Object.entries(env)) if (process.env[k] !== v) process.env[k] = v;
}

function output(
  type: number,
  facts: TtyFacts,
  send: (type: number, payload: string | Uint8Array) => void,
): Out & { write(text: string | Uint8Array): boolean } {
  return {
    write: (text) => {
      send(type, text);
      return true;
    },
    isTTY: facts.isTTY,
    ...(facts.columns ? { columns: facts.columns } : {}),
  };
}
