/**
 * For the deploy processes (agent and deployer): V8's heap kept small, for the rest of the
 * process, by two flags that take effect when set at run time (checked with
 * `v8.getHeapSpaceStatistics()`; `--max-semi-space-size`, `--initial-old-space-size` and
 * `--max-old-space-size` are read only at start-up, and the CLI is started as `node
 * bin/slipway.js`): `--semi-space-growth-factor=1` keeps the young generation at its initial
 * size instead of growing it to 16 MiB semi-spaces, and `--heap-growing-percent=35` lets the old
 * generation grow by about a third (instead of up to 4x) before its next full collection, so garbage (a
 * manifest of 20,000 entries parsed, a Buffer per chunk) is collected sooner. Each alone is not
 * enough on the bench's 20,000 files: the agent peaked at 166-171 MB with the first, 153-179 MB
 * with the second. This replaces `--optimize-for-size`, which made V8 start incremental marking
 * at every check once the old generation passed 8 MB (the agent's heap always does): 25-36 full
 * collections per first deploy. At 50% (scripts/deploy-ab.mjs small, quiet machine) pair CPU
 * was lower still (20,000 files first deploy -28%, 10% edit -10%), but the agent's peak on the
 * deploy bench's 200 MB file rose from 134-137 to 147 MB, too close to 150; at 35% it is 135-141
 * MB, the 20,000 files' 119-138 MB, for pair CPU first -9%, 10% edit -7% (3 pairs each against
 * `--optimize-for-size`, load 2-3). Only where the process is one of its own: the CLI's `agent` and `deploy` commands
 * (each runs in a fresh process), never a library call (a test worker or an embedding program
 * keeps its own flags).
 */
import v8 from 'node:v8';

/** Asks V8 to keep this process's heap small for the rest of its life. */
export function preferSmallHeap(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=35');
}
