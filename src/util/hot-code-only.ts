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
import v8 from 'node:v8';

/** Four times V8's default (67,584 bytes of bytecode executed) for this version of Node. */
const INTERRUPT_BUDGET = 4 * 67_584;

/** Asks V8 to optimize only code that runs hot, for the rest of this process's life. */
export function compileHotCodeOnly(): void {
  v8.setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}
