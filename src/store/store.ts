/**
 * The history store seam: typed queries, one module per concern, over SQLite (default) or
 * PostgreSQL. The database itself stays inside src/store/: no SQL is written anywhere else.
 */
import { historyDbFile } from '../state/paths.js';
import type { AppValidationQueries } from './app-validations.js';
import type { DashboardQueries } from './dashboard-queries.js';
import type { TransferQueries } from './deploy-transfers.js';
import type { DeploymentQueries } from './deployments.js';
import { driverError } from './driver-error.js';
import type { FindingQueries } from './findings.js';
import type { LeaseQueries } from './leases.js';
import type { QueueSampleQueries } from './queue-samples.js';
import type { RunQueries } from './runs.js';
import { parseStoreLocation } from './store-location.js';
import type { WarmSqlite } from './warm-sqlite.js';

export { redactUrl } from './store-location.js';

export interface Store {
  /** Where it lives, with any password removed, for messages. */
  readonly location: string;
  /** Runs and task runs: the history writer's batches, predictions, `history`, `--resume`. */
  readonly runs: RunQueries;
  /** Deployments and their targets. */
  readonly deployments: DeploymentQueries;
  /** What each deployment moved over the network, and its staging time. */
  readonly transfers: TransferQueries;
  /** What the agents measured of the app after each deploy. */
  readonly appValidations: AppValidationQueries;
  /** The one-deployer-per-environment lease rows. */
  readonly leases: LeaseQueries;
  /** Regression findings and their acknowledgements. */
  readonly findings: FindingQueries;
  /** The scale-out queue's length during `--queue` runs, for the HPA replay in `report`. */
  readonly queueSamples: QueueSampleQueries;
  /** The dashboard's bounded reads (slipway serve, /metrics, report --html). */
  readonly dashboard: DashboardQueries;
  /**
   * Closes it, every commit made durable. `processExits`: the process exits right after, without
   * Node.js's teardown (bin/slipway.js): a SQLite store then syncs its write-ahead log once and
   * leaves it for the next opener (sqlite-exit.ts) instead of checkpointing it.
   */
  close(o?: { processExits?: boolean }): Promise<void>;
}

export interface OpenStoreOptions {
  /** `postgres://…` or a SQLite file path; default `<root>/.slipway/history.db`. */
  url?: string;
  root: string;
  /**
   * False for commands that only read history (history, report, plan, check…): a SQLite store
   * that does not exist yet is then an empty, in-memory one, and no file or folder is created.
   * Default true.
   */
  create?: boolean;
  /** A store opened ahead (the daemon's spare): used when it is the one asked for and unchanged. */
  warm?: WarmSqlite;
  /** For `withStore`: the process exits right after (Store `close`). */
  processExits?: boolean;
}

/**
 * Opens (creating and migrating as needed) the store chosen by url, SLIPWAY_STORE or the default.
 * A value that is no store, or a store that cannot be opened, throws a UsageError (exit code 2).
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const value = opts.url || process.env.SLIPWAY_STORE;
  const from = opts.url ? '--store' : 'SLIPWAY_STORE';
  const where = value
    ? parseStoreLocation(value, { root: opts.root, from })
    : ({
        ok: true,
        value: { kind: 'sqlite', file: historyDbFile(opts.root) },
      } as const);
  if (!where.ok) throw where.error;
  if (where.value.kind === 'postgres') {
    const { openPostgres } = await loadDriver('pg', () => import('./postgres.js'));
    return openPostgres(where.value.url);
  }
  const warm = await opts.warm?.take(where.value.file);
  if (warm) return warm;
  const { openSqlite } = await loadDriver('better-sqlite3', () => import('./sqlite.js'));
  return openSqlite(where.value.file, { create: opts.create ?? true });
}

/** Loads a store module; a driver that cannot load is a UsageError naming it (driver-error.ts). */
async function loadDriver<T>(pkg: 'pg' | 'better-sqlite3', load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw driverError(pkg, e) ?? e;
  }
}

/** Opens the store, hands it to `fn`, and closes it however `fn` ends. */
export async function withStore<T>(opts: OpenStoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(opts);
  try {
    return await fn(store);
  } finally {
    await store.close({ processExits: opts.processExits });
  }
}
