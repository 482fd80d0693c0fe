/**
 * Every path under `.slipway/`, the project's own state folder (never committed, never an input).
 * Nothing else spells these names: modules that read or write a state file ask for it here.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The state folder's name, for the walkers that must skip it. */
export const STATE_DIR_NAME = '.slipway';

/** `<root>/.slipway`, without creating it. */
const dirOf = (root: string): string => path.join(root, STATE_DIR_NAME);

/**
 * Returns `<root>/.slipway`, creating it with a `.gitignore` of `*` (as pytest and ruff do with
 * their caches): git then never lists its files as untracked, so they are neither task inputs
 * nor a change that makes every run look different, even where the project forgot to ignore it.
 */
export function stateDir(root: string): string {
  const dir = dirOf(root);
  const ignore = path.join(dir, '.gitignore');
  if (!existsSync(ignore)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(ignore, "# Slipway's own state (history, cache, logs): never committed.\n*\n");
  }
  return dir;
}

/** The default SQLite history store. */
export const historyDbFile = (root: string): string => path.join(dirOf(root), 'history.db');

/** The default local cache folder, relative to the pipeline file's folder (config `cache.dir` overrides it). */
export const DEFAULT_CACHE_DIR = path.join(STATE_DIR_NAME, 'cache');

/** The logs of one run's tasks. */
export const runLogDir = (root: string, runId: string): string => path.join(dirOf(root), 'logs', runId);

/** Where a run records its live task process groups (exec/process-guard.ts). */
export const processRecordDir = (root: string): string => path.join(dirOf(root), 'procs');

/** This checkout's run lock (util/run-lock.ts), in a state folder `stateDir` returned. */
export const runLockFile = (stateFolder: string): string => path.join(stateFolder, 'run.lock');

/** State files of earlier Slipway versions that the ledger replaced: removed when it is written. */
export const legacyStateFiles = (root: string): string[] =>
  ['outputs.state', 'outputs.state.list', 'hashes.state', 'pipeline.snapshot.json'].map((n) =>
    path.join(dirOf(root), n),
  );

/** The per-checkout ledger (ledger.ts): pipeline snapshot, hash memo and output records. */
export const ledgerFile = (root: string): string => path.join(dirOf(root), 'ledger');

/** The deployer's chunk ledgers, one file per artifact folder (deploy/chunk-ledger.ts). */
export const deployLedgerDir = (root: string): string => path.join(dirOf(root), 'deploy-ledger');

/** The checkout's daemon socket (daemon/socket-path.ts moves it to a private temporary folder when too long). */
export const daemonSocketFile = (root: string): string => path.join(dirOf(root), 'daemon.sock');

/** The checkout's state folder, for a resident process that must end when it is removed. */
export const stateDirOf = dirOf;
