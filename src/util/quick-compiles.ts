/**
 * For the deploying process (the CLI's `deploy`, the bench's driver), as small-heap.ts: TurboFan's
 * inlining held to a smaller budget of bytecode per optimized function
 * (`--max-inlined-bytecode-size-cumulative`, V8's default 920 bytes), a flag its compiler reads at
 * each compilation, so setting it at run time takes effect. The deployer is a fresh process at
 * every deploy, and its hot functions (the walk's, the stream feed's, the origin's request loop)
 * are compiled anew each time: on a first deploy of 20,000 small files, TurboFan's background
 * compilations were ~0.2 s of its CPU (perf), more than it spent opening files. Smaller graphs
 * compile sooner too, so on a busy two-core machine its main thread leaves slow baseline code
 * sooner. Measured (scripts/deploy-ab.mjs, 5 pairs each): see PREFER_BUDGET.
 *
 * Not for the agent, though a fresh agent gains too (its first release's large async functions,
 * the fetch loop, the frame decoder, the chunk index's ensure, the assembly: ~0.35 s of TurboFan
 * on the same deploy): an agent lives for many deploys, mostly edits, which run the code compiled
 * with less inlining for good; on 1% edits of the small shape (11 pairs) its CPU was no lower and
 * its peak RSS 4-12 MB higher (likely fewer allocations optimized away once less is inlined).
 * Only where the process is one of its own, never a library call.
 */
import v8 from 'node:v8';

/**
 * Bytes of inlined bytecode per optimized function. 300, against V8's 920 (first deploys, agent and
 * deployer both so set then): 20,000 small files, the deployer's CPU lower in every pair (~1,390 ->
 * ~1,200 ms), the agent's 1,890 -> 1,730 (its threads beside the main one ~500 -> ~430 in every
 * pair); the web build's pair CPU 1,150 -> 1,040, the 200 MB file's 1,900 -> 1,700. At 460
 * nothing clear came through a run spoiled by the filesystem's stalls (recently deleted inodes);
 * without inlining at all (--no-turbo-inlining) pair CPU was unchanged.
 */
const PREFER_BUDGET = 300;

/** Asks V8 to keep this deploying process's optimized compilations small for the rest of its life. */
export function preferQuickCompiles(): void {
  v8.setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${PREFER_BUDGET}`);
}
