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
 * keeps its own flags). An agent grows the young generation to 4 MiB semi-spaces for a first
 * release (roomForDeploy, when its tree is prepared): a scavenge every megabyte cost more CPU
 * than the memory saved was worth there. Not for edits, whose peak is higher already.
 */
import v8 from 'node:v8';
import { setV8Flag } from './v8-flags.js';

/** Set by preferSmallHeap: only then is the young generation held small (and grown for a first release). */
let small = false;

/** Asks V8 to keep this process's heap small for the rest of its life. */
export function preferSmallHeap(): void {
  small = true;
  setV8Flag('semi-space-growth-factor', 1);
  setV8Flag('heap-growing-percent', SMALL_HEAP_GROWING);
}

/** heap-growing-percent of a small heap (see above). */
const SMALL_HEAP_GROWING = 35;

/**
 * The young generation (both semi-spaces) a first release's work gets: 4 MiB semi-spaces. At the 1 MiB
 * preferSmallHeap keeps, an agent's first deploy of 20,000 files took 100-185 scavenges, ~200 ms
 * of its CPU; at 4 MiB ~40 (--trace-gc), for 6-17 MB more at its peak (scripts/deploy-ab.mjs with
 * --min-semi-space-size=4: small first, agent user CPU 1,190-1,230 -> 990-1,010 ms; big first
 * 97 MB, big edits 104-115 MB).
 */
const DEPLOY_NEW_SPACE = 8 * 1024 * 1024;

/** Objects kept at most while growing (4 MiB of small arrays): past that, growing is given up. */
const MAX_KEPT = 4096;

/** What growing the young generation needs of V8 (a seam for the test). */
export interface YoungGeneration {
  /** The young generation's size in bytes, both semi-spaces. */
  size(): number;
  setGrowthFactor(factor: number): void;
}

const v8Young: YoungGeneration = {
  size() {
    for (const s of v8.getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
    return Number.POSITIVE_INFINITY;
  },
  setGrowthFactor(factor) {
    setV8Flag('semi-space-growth-factor', factor);
  },
};

/**
 * Before a first release's burst of work (an agent preparing its tree, prepared-tree.ts; a
 * deployer streaming it, stage-stream.ts, ~96 -> ~27 scavenges on 20,000 files): the
 * young generation grown to DEPLOY_NEW_SPACE, once, when preferSmallHeap holds it smaller. A no-op
 * (one look at the heap's spaces) when it is grown already, and in a process that did not ask for
 * a small heap.
 */
export function roomForDeploy(): void {
  if (small) growYoungGeneration(v8Young, DEPLOY_NEW_SPACE);
}

/**
 * Grows the young generation to `target` bytes when it is smaller. V8 reads the semi-spaces'
 * sizes only at start-up, and grows the young generation at a scavenge after more than its size
 * survived since it last grew, by `--semi-space-growth-factor`, which takes effect at run time:
 * so a factor of 4 while objects kept here survive a scavenge or two, then 1 again (at once,
 * before a 3 MB manifest parsed could grow it on to 16 MiB; the factor is what reaches `target` from
 * its size, as V8 multiplies). Idle a while, V8 shrinks it back
 * (its memory reducer): the next first release grows it again.
 */
export function growYoungGeneration(young: YoungGeneration, target: number): void {
  const size = young.size();
  if (size >= target) return;
  // Grown by this factor at once, not past the target: a factor of 4 took an agent's young
  // generation from its 4 MiB to 16 MiB (getHeapSpaceStatistics), 8 MB more of every deploy's peak.
  young.setGrowthFactor(Math.min(8, Math.max(2, Math.ceil(target / size))));
  try {
    const kept: unknown[][] = [];
    while (kept.length < MAX_KEPT) {
      kept.push(new Array(128).fill(kept.length));
      if (kept.length % 64 === 0 && young.size() >= target) break;
    }
  } finally {
    young.setGrowthFactor(1);
  }
}

/**
 * heap-growing-percent while a first release of many files streams in (roomForManyFiles): the old
 * generation may triple. At 100% (doubling) a first deploy of 20,000 files still took a full
 * collection in the middle of its transfer and another in its last steps (the manifest's 3 MB of
 * JSON, the assembly's stats), which nothing overlaps: ~15 ms of the main thread and the marking
 * helpers' CPU each (--trace-gc).
 */
const MANY_FILES_GROWING = 200;
/** Holders of roomForManyFiles. */
let roomy = 0;

/**
 * While a streamed first release of thousands of files comes in (an agent, stream-stage.ts): the
 * old generation may triple before its next full collection instead of growing by a third, until
 * the function returned is called (nested holds counted). What such a release keeps (its
 * manifest's entries, the chunk index's locations, a few hundred bytes a file) grows the heap
 * steadily, and at 35% every few thousand files cost a full collection: 6 of them, ~100 ms of the
 * main thread with their incremental marking, for 20,000 files (--trace-gc). Not for a large
 * file's parts (its peak, which held the 35% above, comes from its chunks' buffers, not from
 * what it keeps). A no-op in a process that did not ask for a small heap.
 */
export function roomForManyFiles(): () => void {
  if (!small) return () => {};
  if (roomy++ === 0) setV8Flag('heap-growing-percent', MANY_FILES_GROWING);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--roomy === 0) setV8Flag('heap-growing-percent', SMALL_HEAP_GROWING);
  };
}
