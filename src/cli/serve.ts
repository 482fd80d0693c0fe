import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_FILE, type Pipeline } from '../config/types.js';
import { loadAssets } from '../dashboard/assets.js';
import { DEFAULT_LISTEN, type ListenAddress, parseListen } from '../dashboard/listen.js';
import { openStore, type Store } from '../store/store.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

interface ServeOptions {
  listen: string;
  tokenFile?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('a live web dashboard, an executive summary and /metrics over the history store')
    .option('--listen <host:port>', 'address to listen on (port 0: any free port, printed)', DEFAULT_LISTEN)
    .option(
      '--token-file <file>',
      'a file holding the token that allows acknowledging regressions (required off loopback)',
    )
    .action(action(ctx, (opts: ServeOptions, cmd: Command) => serve(ctx, opts, cmd)));
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read --token-file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      'write a long random token into a file readable only by you (e.g. openssl rand -hex 32 > token)',
    );
  }
  const token = text.trim();
  if (token.length < 16)
    throw new UsageError(
      `--token-file ${file} holds ${token.length ? 'a token shorter than 16 characters' : 'no token'}`,
      'use a long random token, e.g. openssl rand -hex 32',
    );
  return token;
}

/** The pipeline beside which serve runs, when its file is there and valid (for recommendations). */
async function optionalPipeline(ctx: CliContext, cmd: Command): Promise<Pipeline | undefined> {
  const file = path.resolve(globals(cmd).file ?? DEFAULT_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return await pipelineFrom(cmd);
  } catch (e) {
    ctx.stderr.write(
      `slipway serve: ${path.relative(process.cwd(), file) || file} not loaded (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); serving without recommendations\n`,
    );
    return undefined;
  }
}

function listen(server: Server, at: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const where = `${at.host}:${at.port}`;
      if (e.code === 'EADDRINUSE')
        reject(
          new UsageError(
            `cannot listen on ${where}: the port is in use`,
            'choose another --listen port (0 picks a free one)',
          ),
        );
      else if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
        reject(
          new UsageError(
            `cannot listen on ${where}: no such local address`,
            'use an address of this machine, e.g. 127.0.0.1',
          ),
        );
      else if (e.code === 'EACCES')
        reject(new UsageError(`cannot listen on ${where}: permission denied`, 'use a port above 1023'));
      else reject(e);
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : at.port);
    });
  });
}

async function serve(ctx: CliContext, opts: ServeOptions, cmd: Command): Promise<number> {
  const parsed = parseListen(opts.listen);
  if (!parsed.ok) throw parsed.error;
  const at = parsed.value;
  const token = opts.tokenFile ? readToken(opts.tokenFile) : undefined;
  if (!at.loopback && token === undefined)
    throw new UsageError(
      `refusing to listen on ${at.host} without a token`,
      'add --token-file FILE, or listen on 127.0.0.1 and reach it through an SSH tunnel or a proxy',
    );
  const assets = loadAssets();
  if (!assets)
    throw new UsageError(
      'the dashboard front end is not built (dist/dashboard is missing)',
      'run npm run build',
    );
  const root = path.dirname(path.resolve(globals(cmd).file ?? DEFAULT_FILE));
  const config = await optionalPipeline(ctx, cmd);
  // Created if missing: a `slipway run` started later writes to the same file and shows up live.
  const store: Store = await openStore({ url: globals(cmd).store, root: config?.root ?? root });
  let server: Server | undefined;
  try {
    const { createAdaptorServer } = await import('@hono/node-server');
    const { createDashboardApp } = await import('../dashboard/app.js');
    const { DashboardMetrics } = await import('../dashboard/metrics.js');
    const { OverviewCache } = await import('../dashboard/overview-cache.js');
    const overviews = new OverviewCache(store, config, Date.now);
    const metrics = new DashboardMetrics({ store, overviews });
    const app = createDashboardApp({
      store,
      assets,
      overviews,
      metrics,
      ...(at.loopback ? { allowedHosts: [at.host, 'localhost', '127.0.0.1', '::1'] } : {}),
      ...(config ? { config } : {}),
      root: config?.root ?? root,
      ...(token !== undefined ? { token } : {}),
    });
    server = createAdaptorServer({ fetch: app.fetch }) as Server;
    const port = await listen(server, at);
    // The first scrape observes the whole history: start it now, so Prometheus's first scrape
    // (10 s timeout by default) does not pay for it.
    metrics.scrape().catch((e: unknown) => ctx.stderr.write(`slipway serve: metrics: ${String(e)}\n`));
    const host = at.host.includes(':') ? `[${at.host}]` : at.host;
    ctx.stdout.write(
      `slipway serve: http://${host}:${port}/ (store ${store.location}; ${token ? 'acknowledgements need the token' : 'read-only'})\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  } finally {
    if (server) {
      const s = server;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await store.close();
  }
}
