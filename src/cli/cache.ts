/** `slipway cache stats|prune`: look at and trim the local cache. */
import type { Command } from 'commander';
import { cacheSettings } from '../cache/config.js';
import { LocalStore } from '../cache/local-store.js';
import { type Store, withStore } from '../store/store.js';
import { StoreOpenError } from '../store/store-error.js';
import { formatBytes, formatMs, parseDuration, parseSize } from '../util/units.js';
import { action, type CliContext, globals, pipelineFrom, UsageError } from './context.js';

const RECENT_RUNS = 10;

export function register(program: Command, ctx: CliContext): void {
  const cache = program.command('cache').description('inspect or trim the local task cache');

  cache
    .command('stats')
    .description('entries, size, remote settings and the hit ratio of recent runs')
    .option('--json', 'print as JSON')
    .action(
      action(ctx, async (opts: { json?: boolean }, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        const settings = cacheSettings(pipeline, ctx.env);
        const entries = new LocalStore(settings.dir).list();
        const bytes = entries.reduce((s, e) => s + e.size, 0);
        const used = entries.map((e) => e.usedAt);
        const recent = await recentOutcomes(globals(cmd).store, pipeline.root, pipeline.name);
        const r = settings.remote;
        const stats = {
          dir: settings.dir,
          entries: entries.length,
          bytes,
          maxBytes: settings.maxSize,
          oldestUseAt: used.length ? Math.min(...used) : null,
          newestUseAt: used.length ? Math.max(...used) : null,
          remote: r
            ? {
                url: r.url,
                team: r.team ?? null,
                token: !!r.token,
                signed: !!r.signatureKey,
                read: r.read,
                write: r.write,
              }
            : null,
          recentRuns: recent,
        };
        if (opts.json) {
          ctx.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
          return 0;
        }
        const ago = (t: number | null) => (t === null ? '-' : `${formatMs(Date.now() - t)} ago`);
        const lines = [
          `local cache   ${stats.dir}`,
          `entries       ${stats.entries} (${formatBytes(bytes)} of ${formatBytes(settings.maxSize)}, ${((100 * bytes) / settings.maxSize).toFixed(1)}%)`,
          `last used     ${ago(stats.newestUseAt)}; least recently used ${ago(stats.oldestUseAt)}`,
          r
            ? `remote        ${r.url} team ${r.team ?? '(none: set cache.remote.team)'}; token ${r.token ? 'set' : 'not set'}; signatures ${r.signatureKey ? 'on' : 'off'}; ${[r.read && 'read', r.write && 'write'].filter(Boolean).join('+') || 'off'}`
            : 'remote        not configured (cache.remote, SLIPWAY_REMOTE_CACHE_URL or TURBO_API)',
        ];
        if (recent) {
          const total = recent.hitsLocal + recent.hitsRemote + recent.misses;
          const ratio = total ? ((100 * (recent.hitsLocal + recent.hitsRemote)) / total).toFixed(0) : '0';
          lines.push(
            `last ${recent.runs} runs  ${ratio}% hits (${recent.hitsLocal} local, ${recent.hitsRemote} remote, ${recent.misses} misses), saved ${formatMs(recent.savedMs)}`,
          );
        }
        ctx.stdout.write(`${lines.join('\n')}\n`);
        return 0;
      }),
    );

  cache
    .command('prune')
    .description('remove least-recently-used entries down to a size (default cache.maxSize)')
    .option('--max-size <size>', 'keep at most this much, e.g. 2GiB')
    .option(
      '--older-than <duration>',
      'also remove entries unused for this long, e.g. 7d, 168h or 3600 (seconds)',
    )
    .option('--all', 'remove every entry')
    .action(
      action(ctx, async (opts: { maxSize?: string; olderThan?: string; all?: boolean }, cmd: Command) => {
        const pipeline = await pipelineFrom(cmd, { snapshot: true });
        const settings = cacheSettings(pipeline, ctx.env);
        let max = settings.maxSize;
        if (opts.maxSize !== undefined) {
          const n = parseSize(opts.maxSize);
          if (n === undefined || n < 0)
            throw new UsageError(`bad size "${opts.maxSize}"`, 'write e.g. 500MiB or 2GiB');
          max = n;
        }
        let olderThan: number | undefined;
        if (opts.olderThan !== undefined) {
          olderThan = parseDuration(opts.olderThan);
          if (olderThan === undefined)
            throw new UsageError(
              `bad --older-than "${opts.olderThan}"`,
              'write a duration such as 12h or 7d, or a number of seconds',
            );
        }
        const r = new LocalStore(settings.dir).prune(opts.all ? 0 : max, olderThan);
        ctx.stdout.write(
          `removed ${r.removed} entr${r.removed === 1 ? 'y' : 'ies'} (${formatBytes(r.bytes)}); ${r.kept} left (${formatBytes(r.keptBytes)})\n`,
        );
        return 0;
      }),
    );
}

interface Recent {
  runs: number;
  hitsLocal: number;
  hitsRemote: number;
  misses: number;
  savedMs: number;
}

/** Cache outcomes of the pipeline's last runs from the history store; undefined when there is none. */
async function recentOutcomes(
  url: string | undefined,
  root: string,
  name: string,
): Promise<Recent | undefined> {
  try {
    return await withStore({ url, root, create: false }, (store) => outcomesFrom(store, name));
  } catch (e) {
    // The local cache is worth showing without history; a bad --store value is still an error.
    if (e instanceof StoreOpenError) return undefined;
    throw e;
  }
}

/** Counts of hits and misses over the last runs of the pipeline `name`. */
async function outcomesFrom(store: Store, name: string): Promise<Recent | undefined> {
  const { runs, outcomes } = await store.runs.recentCacheOutcomes(name, RECENT_RUNS);
  if (!runs) return undefined;
  const count = (c: string) => outcomes.filter((r) => r.cache === c).length;
  return {
    runs,
    hitsLocal: count('hit-local'),
    hitsRemote: count('hit-remote'),
    misses: count('miss'),
    savedMs: outcomes.reduce((s, r) => s + (r.saved_ms ?? 0), 0),
  };
}
