/** The seam between the executor and caching (DESIGN §5). */
import type { TaskConfig } from '../config/types.js';

export type TaskHash = string & { readonly __brand: 'TaskHash' };

export interface CacheLookup {
  hash: TaskHash;
  /** Present when outputs were restored; the executor then replays `log` and skips the command. */
  hit?: { source: 'local' | 'remote'; log: string; savedMs: number };
}

export interface TaskCache {
  /**
   * Hashes the task (inputs, env, command, dependency hashes…) and, when `restore` is true and an
   * entry exists, restores its outputs. With `inPlaceOnly`, only a hit whose outputs are already
   * on disk counts (nothing is read, restored or fetched); it is for settling before a run
   * starts, and may answer from stats taken at start-up. Never throws for cache trouble:
   * degrade to a miss.
   */
  lookup(
    task: TaskConfig,
    depHashes: ReadonlyMap<string, TaskHash>,
    opts: { restore: boolean; inPlaceOnly?: boolean },
  ): Promise<CacheLookup>;
  /** Stores outputs and log after a successful, cacheable run. Uploads may continue in background. */
  save(task: TaskConfig, hash: TaskHash, result: { log: string; durationMs: number }): Promise<void>;
  /** Waits for background work (uploads) to finish. */
  flush(): Promise<void>;
}
