/** `slipway agent`: the deploy agent that runs on each target host. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Agent } from '../deploy/agent/agent.js';
import { DEFAULT_LIMITS, listenAgent } from '../deploy/agent/server.js';
import { compileHotCodeOnly } from '../util/hot-code-only.js';
import { preferSmallHeap } from '../util/small-heap.js';
import { action, type CliContext, UsageError } from './context.js';

interface AgentOpts {
  dir: string;
  listen: string;
  tokenFile?: string;
  tokenEnv?: string;
  keep: string;
  maxBody?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('agent')
    .description('run the deploy agent: receives releases, activates them atomically, runs the app')
    .requiredOption('--dir <dir>', 'folder for releases, chunks and the current symlink')
    .option('--listen <host:port>', 'address to listen on (port 0 picks a free one)', '127.0.0.1:7070')
    .option('--token-file <file>', 'file holding the bearer token deployers must send')
    .option('--token-env <name>', 'environment variable holding the token (instead of --token-file)')
    .option('--keep <n>', 'releases to keep on disk', '5')
    .option('--max-body <bytes>', 'largest JSON request body (the manifest), in bytes')
    .action(
      action(ctx, async (opts: AgentOpts) => {
        const token = readToken(opts, ctx);
        const m = /^(.+):(\d+)$/.exec(opts.listen);
        if (!m) throw new UsageError(`bad --listen ${opts.listen}`, 'write host:port, e.g. 127.0.0.1:7070');
        const keep = Number(opts.keep);
        if (!Number.isInteger(keep) || keep < 1)
          throw new UsageError(`bad --keep ${opts.keep}`, 'write a whole number >= 1');
        const limits = { ...DEFAULT_LIMITS };
        if (opts.maxBody) limits.jsonBytes = Number(opts.maxBody);
        const dir = path.resolve(opts.dir);
        preferSmallHeap();
        compileHotCodeOnly();
        const agent = await Agent.open({
          dir,
          token,
          keep,
          warn: (message) => ctx.stderr.write(`warning: ${message}\n`),
        });
        const server = await listenAgent(agent, m[1]!, Number(m[2]), limits).catch((e: unknown) => {
          throw listenError(opts.listen, e);
        });
        const addr = server.address();
        const port = typeof addr === 'object' && addr ? addr.port : Number(m[2]);
        ctx.stdout.write(`slipway agent listening on http://${m[1]}:${port} (dir ${dir})\n`);
        const status = await agent.status();
        if (status.current)
          ctx.stdout.write(
            `current release ${status.current}${status.app.running ? ` (app pid ${status.app.pid})` : ''}\n`,
          );
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
            server.closeAllConnections();
            server.close();
            // A graceful stop takes the app down with the agent: nothing is left unsupervised.
            void agent.shutdown().finally(resolve);
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
        });
        return 0;
      }),
    );
}

function readToken(opts: AgentOpts, ctx: CliContext): string {
  let token: string | undefined;
  if (opts.tokenFile) {
    try {
      token = readFileSync(opts.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new UsageError(
        `cannot read --token-file ${opts.tokenFile}: ${(e as NodeJS.ErrnoException).code}`,
      );
    }
  } else if (opts.tokenEnv) {
    token = ctx.env[opts.tokenEnv]?.trim();
    if (!token)
      throw new UsageError(
        `the environment variable ${opts.tokenEnv} (named by --token-env) is not set or empty`,
        `export ${opts.tokenEnv}=$(openssl rand -hex 32), or pass --token-file FILE`,
      );
  }
  if (!token) {
    throw new UsageError(
      'the agent needs a token',
      'pass --token-file FILE (or --token-env NAME) holding a long random string, e.g. from `openssl rand -hex 32`',
    );
  }
  if (token.length < 16)
    throw new UsageError('the token is shorter than 16 characters', 'use a long random token');
  return token;
}

/** A listen failure (busy port, no permission, unknown address) as one line with a hint; a bug stays a bug. */
function listenError(listen: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const other = 'pick another address with --listen HOST:PORT (port 0 picks a free one)';
  switch (code) {
    case 'EADDRINUSE':
      return new UsageError(
        `cannot listen on ${listen}: the address is already in use`,
        `stop what listens there (another slipway agent?) or ${other}`,
      );
    case 'EACCES':
      return new UsageError(
        `cannot listen on ${listen}: permission denied`,
        `ports below 1024 need privileges; ${other}`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UsageError(
        `cannot listen on ${listen}: no such address on this machine (${code})`,
        `listen on 127.0.0.1 or one of this host's addresses; ${other}`,
      );
    default:
      return code ? new UsageError(`cannot listen on ${listen}: ${code}`, other) : e;
  }
}
