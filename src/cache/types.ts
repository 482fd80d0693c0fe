/** The seam between the executor and caching (DESIGN §5). */
import type { TaskConfig } from '../config/types.js';
import type { TaskGraph } from '../graph/graph.js';

export type TaskHash = string & { readonly __brand: 'TaskHash' };

export interface CacheLookup {
  hash: TaskHash;
  /** Present when outputs were restored; the executor then replays `log` and skips the command. */
  hit?: { source: 'local' | 'remote'; log: string; savedMs: number };
}

export interface TaskCache {
  /**
   * Before anything runs: the tasks of `graph` that are already done, because their outputs are
   * still on disk exactly as their current hash left them (nothing is read, restored or fetched),
   * in dependency order. A task qualifies only when every dependency it has in `graph` qualified
   * too. May answer from stats taken at start-up, so call it once, before the run starts.
   */
  settle(graph: TaskGraph): Promise<Map<string, CacheLookup>>;
  /**
   * Hashes the task (inputs, env, command, dependency hashes…) and, when `restore` is true and an
   * entry exists, restores its outputs. Never throws for cache trouble: degrade to a miss.
   * With `restore` false (only the key is asked for) a newly computed hash's manifest, for
   * `slipway why`, is recorded in the next turn of the event loop, not before the key is returned.
   */
  lookup(
    task: TaskConfig,
    depHashes: ReadonlyMap<string, TaskHash>,
    opts: { restore: boolean },
  ): Promise<CacheLookup>;
  /** Stores outputs and log after a successful, cacheable run. Uploads may continue in background. */
  save(task: TaskConfig, hash: TaskHash, result: { log: string; durationMs: number }): Promise<void>;
  /** Waits for background work (uploads) to finish. */
  flush(): Promise<void>;
}
