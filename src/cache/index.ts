/** The one way the CLI builds a cache: local store plus the remote configured for this pipeline. */
import path from 'node:path';
import type { Pipeline } from '../config/types.js';
import type { EventStream, RunEvent } from '../events.js';
import type { Checkout } from '../state/checkout.js';
import { cacheSettings } from './config.js';
import { LayeredCache } from './layered-cache.js';
import { LocalStore } from './local-store.js';
import { ManifestStore } from './manifests.js';
import { OutputState } from './output-state.js';
import { TaskHasher } from './task-hasher.js';
import { TurboRemoteCache } from './turbo-remote-cache.js';
import type { TaskCache } from './types.js';

export type { CacheLookup, TaskCache, TaskHash } from './types.js';

export interface CreateTaskCacheOptions {
  pipeline: Pipeline;
  /** Warnings (damaged entries, an unreachable remote…) go out as `warning` events. */
  events: EventStream<RunEvent>;
  env: NodeJS.ProcessEnv;
  /** --force: lookups still hash (and later saves overwrite), the executor just never restores. */
  force?: boolean;
  runId?: string;
  /** The pipeline's checkout: its ledger and the probes started for it (state/checkout.ts). */
  checkout: Checkout;
  /** The run's cancellation (SIGINT, SIGTERM): pending remote requests are aborted at once. */
  signal?: AbortSignal;
  /** `slipway plan`: look, change nothing, local cache only (LayeredCacheOptions.readOnly). */
  readOnly?: boolean;
}

/** Builds the layered (local + remote) task cache for a pipeline. */
export async function createTaskCache(opts: CreateTaskCacheOptions): Promise<TaskCache> {
  const settings = cacheSettings(opts.pipeline, opts.env);
  const warn = (message: string, taskId?: string): void =>
    opts.events.emit({ type: 'warning', runId: opts.runId, taskId, message });
  const remote = opts.readOnly ? undefined : settings.remote;
  if (remote && !remote.team) {
    warn(
      `remote cache ${remote.url} needs a team: set cache.remote.team or SLIPWAY_REMOTE_CACHE_TEAM (or TURBO_TEAM); using the local cache only`,
    );
  }
  const { checkout } = opts;
  const hasher = new TaskHasher(opts.pipeline, settings.dir, checkout);
  // What the outputs on disk looked like describes this checkout, not the (shareable) cache.
  const state = new OutputState(checkout.ledger, opts.force ? undefined : checkout.outputStats());
  hasher.prefetch();
  return new LayeredCache({
    pipeline: opts.pipeline,
    ledger: checkout.ledger,
    hasher,
    store: new LocalStore(settings.dir),
    state,
    manifests: new ManifestStore(path.join(settings.dir, 'manifests')),
    remote:
      remote?.team && (remote.read || remote.write)
        ? {
            client: new TurboRemoteCache({
              url: remote.url,
              team: remote.team,
              token: remote.token,
              signatureKey: remote.signatureKey,
              timeoutMs: remote.timeoutMs,
              signal: opts.signal,
            }),
            read: remote.read,
            write: remote.write,
          }
        : undefined,
    maxSize: settings.maxSize,
    warn,
    readOnly: opts.readOnly,
  });
}
