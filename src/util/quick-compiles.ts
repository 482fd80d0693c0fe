/**
 * For the deploy processes (agent and deployer), as small-heap.ts: TurboFan's inlining held to a
 * smaller budget of bytecode per optimized function (`--max-inlined-bytecode-size-cumulative`,
 * V8's default 920 bytes), a flag its compiler reads at each compilation, so setting it at run
 * time takes effect. A fresh process's hot functions are mostly large async ones (a transfer's
 * fetch loop, the frame decoder, the chunk index's ensure, the assembly: each awaited per chunk or
 * per file), whose graphs grow with every callee inlined: on a first deploy of 20,000 small files,
 * TurboFan's background compilations were ~0.35 s of the agent's CPU and ~0.2 s of the
 * deployer's (perf, both processes fresh), more than either spent creating or reading files.
 * Smaller graphs compile sooner too, so on a busy two-core machine the main thread leaves slow
 * baseline code sooner. Measured (scripts/deploy-ab.mjs small first, 5 pairs, load 7-12): see
 * PREFER_BUDGET. Only where the process is one of its own (the CLI's `agent` and `deploy`), never
 * a library call.
 */
import v8 from 'node:v8';

/**
 * Bytes of inlined bytecode per optimized function. 300, against V8's 920 (scripts/deploy-ab.mjs,
 * 5 pairs each, first deploys, both processes fresh): 20,000 small files, pair CPU 3,320 -> 2,930
 * ms median (the agent's 1,890 -> 1,730, its threads beside the main one ~500 -> ~430 in every
 * pair; the deployer's lower in every pair, ~1,390 -> ~1,200); with this session's other changes,
 * 3,550 -> 3,000, and the web build's 1,150 -> 1,040, lower in every pair of both. At 460 nothing
 * clear came through a run spoiled by the filesystem's stalls (recently deleted inodes); without
 * inlining at all (--no-turbo-inlining) pair CPU was unchanged.
 */
const PREFER_BUDGET = 300;

/** Asks V8 to keep this process's optimized compilations small for the rest of its life. */
export function preferQuickCompiles(): void {
  v8.setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${PREFER_BUDGET}`);
}
