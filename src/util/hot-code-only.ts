/**
 * For the deploy processes (agent and deployer, as small-heap.ts): V8 optimizes a function with
 * TurboFan only after four times the bytecode budget it would by default (`--interrupt-budget`,
 * which takes effect at run time for the functions whose budgets are set after it). A deploy is a
 * burst of a few hundred milliseconds in a process that starts cold (the deployer always, an
 * agent at its first deploy): at the default budget V8 compiled every function that ran warm,
 * ~100-125 ms of each process's CPU on its compiler thread for the web build's first deploy
 * (perf: `compiler::` frames), about a fifth of the deploy's CPU, most of it for functions that
 * ran a few more times before the deploy ended. Hot loops (per chunk, per file, per line) still
 * reach TurboFan within their first milliseconds. Measured (scripts/deploy-ab.mjs web first,
 * the flag on the command line of one side's processes, load 4-9): the pair's CPU 1,025 -> 820
 * ms (user CPU -20%); at 2x the default -9%, at 15x about as at 4x. Only where the process is
 * one of its own (the CLI's `agent` and `deploy`, the bench's deploy driver), never a library
 * call.
 */
import { setV8Flag } from './v8-flags.js';

/** V8's interrupt budget in Node 20 (`--interrupt-budget`): the bytecode a function runs between two looks at whether to optimize it. */
const INTERRUPT_BUDGET = 67_584;

/** The process's own budget: four times V8's default once compileHotCodeOnly was called. */
let base: number | undefined;

/** Asks V8 to optimize only code that runs hot, for the rest of this process's life. */
export function compileHotCodeOnly(): void {
  base = 4 * INTERRUPT_BUDGET;
  setV8Flag('interrupt-budget', base);
}

/** The budget while fewerCompiles holds: a function (or a loop) is optimized after 8x the default's work. */
const FEWER_COMPILES_FACTOR = 8;

/** The factors of the holds of fewerCompiles now, one per hold: the largest applies. */
const holds: number[] = [];

/** The budget for the holds now, or the process's own without any. */
function budgetNow(own: number): number {
  let factor = 0;
  for (const f of holds) factor = Math.max(factor, f);
  return holds.length ? Math.max(own, INTERRUPT_BUDGET * factor) : own;
}

/**
 * While a first release's large file streams (a deployer chunking it in parts, an agent writing
 * its parts, stage-stream.ts), in a process that called compileHotCodeOnly: TurboFan optimizes
 * only what stays hot for longer still, until the function returned is called (nested holds
 * counted, the largest factor applying), when the process's own budget is back. That work's bytes go through native code
 * (SHA-256, the gear scan's WebAssembly, the kernel); its JavaScript warmed up within a few
 * hundred milliseconds, and TurboFan then compiled dozens of functions on a helper thread, large
 * ones with all they inline (the origin's request handler 100-230 ms, the agent's fetchChunks,
 * decodeFrames and place 35-75 ms each; ~150 ms of each process's CPU on the 200 MB file's first
 * deploy) beside the transfer on a 2-core machine. Measured (scripts/deploy-ab.mjs big first, set
 * at start-up in both processes, 10 pairs, load 5-9): 8x CPU -13%, wall 0.85; 16x CPU -16%, wall
 * 0.82; TurboFan off (--no-opt) CPU -5%. Not for every deploy: on 20,000 small files (JavaScript's
 * own work) the agent's main thread took 20-25% more at 8x. V8 reads the flag as it refills a
 * function's budget, so it applies from then on; optimized code stays. A process that did not
 * call compileHotCodeOnly (a test worker, an embedding program) keeps its flags. `factor`: the
 * budget as a multiple of V8's default (8 unless given).
 */
export function fewerCompiles(factor = FEWER_COMPILES_FACTOR): () => void {
  const own = base;
  if (own === undefined) return () => {};
  const before = budgetNow(own);
  holds.push(factor);
  const now = budgetNow(own);
  if (now !== before) setV8Flag('interrupt-budget', now);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const was = budgetNow(own);
    holds.splice(holds.indexOf(factor), 1);
    const then = budgetNow(own);
    if (then !== was) setV8Flag('interrupt-budget', then);
  };
}
