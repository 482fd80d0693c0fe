/**
 * A run recorded as `running` on this host whose process is gone (kill -9, power loss) was
 * abandoned; `run` and `history` mark such runs interrupted before they read history. Runs of
 * other hosts are left alone: only their own host can tell.
 */
import os from 'node:os';
import type { Store } from '../store/store.js';
import { pidAlive } from '../util/proc-start.js';

/** Marks this host's abandoned runs interrupted; returns how many. */
export function markAbandonedRuns(store: Pick<Store, 'runs'>): Promise<number> {
  // This process records no run yet: a row with its pid is an earlier, dead process's.
  return store.runs.markAbandoned(os.hostname(), (pid) => pid !== process.pid && pidAlive(pid));
}
