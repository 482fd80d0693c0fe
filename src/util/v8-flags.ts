/**
 * The V8 flags Slipway's own processes change at run time (small-heap.ts, hot-code-only.ts), set
 * in one place so that they can be put back as the process started with them: V8 stamps a code
 * cache with a hash of every flag's value and rejects one made under other values, and the cold
 * CLI makes its code cache at the end of a command (cli/code-cache.ts), after a deploy changed
 * three of them. A cache made without putting them back was rejected at every start.
 *
 * They are also set again once a worker thread is online (reapplyV8Flags): starting one sets
 * every V8 flag back to what the command line gave, on the worker's thread before its `online`
 * event (Node 20; checked: `--semi-space-growth-factor=1` set before a worker started, the young
 * generation grew to 16 MiB semi-spaces after; set again on `online`, it stayed at 1 MiB). A
 * deployer that started its chunking workers (deploy/cdc-pool.ts, for a large file) lost its
 * small heap and its interrupt budget for the rest of the deploy.
 */
import v8 from 'node:v8';

/** The flags changed at run time, with Node.js 20's V8 defaults (`node --v8-options`). */
const DEFAULTS = {
  'interrupt-budget': 67_584,
  'semi-space-growth-factor': 2,
  'heap-growing-percent': 0,
} as const;

export type RuntimeV8Flag = keyof typeof DEFAULTS;

/** Each flag changed so far, with the value it had at start-up (undefined: set on the command line, not known). */
const before = new Map<RuntimeV8Flag, number | undefined>();
/** Each flag setV8Flag changed and not put back, with its latest value. */
const current = new Map<RuntimeV8Flag, number>();

/** Sets a V8 flag for the rest of the process (or until set again), remembering its start-up value. */
export function setV8Flag(name: RuntimeV8Flag, value: number): void {
  if (!before.has(name)) before.set(name, givenOnCommandLine(name) ? undefined : DEFAULTS[name]);
  current.set(name, value);
  v8.setFlagsFromString(`--${name}=${value}`);
}

/** Sets again every flag setV8Flag changed, at its latest value: once a worker thread is online. */
export function reapplyV8Flags(): void {
  for (const [name, value] of current) v8.setFlagsFromString(`--${name}=${value}`);
}

/**
 * Puts every flag setV8Flag changed back to its start-up value; false when one was given on
 * Node.js's command line (or NODE_OPTIONS), whose value is not known here.
 */
export function restoreV8Flags(): boolean {
  let all = true;
  for (const [name, value] of before) {
    if (value === undefined) all = false;
    else {
      v8.setFlagsFromString(`--${name}=${value}`);
      current.delete(name);
    }
  }
  if (all) before.clear();
  return all;
}

/**
 * Runs `fn` with every flag setV8Flag changed (and whose start-up value is known) at its start-up
 * value, then sets them back: code compiled by `fn` matches a V8 code cache made under the
 * start-up flags, and a cache it makes is one the next start can take (cli/cold-chunk.ts, a part
 * of the cold bundle first required in the middle of a deploy).
 */
export function underStartupFlags<T>(fn: () => T): T {
  const changed = [...current].filter(([name]) => before.get(name) !== undefined);
  for (const [name] of changed) v8.setFlagsFromString(`--${name}=${before.get(name)}`);
  try {
    return fn();
  } finally {
    for (const [name, value] of changed) v8.setFlagsFromString(`--${name}=${value}`);
  }
}

/** The arguments Node.js itself was given: its command line's and NODE_OPTIONS'. */
function nodeArgs(): string[] {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
}

/** Whether the flag was passed to Node.js itself (either spelling, `-` or `_`). */
function givenOnCommandLine(name: RuntimeV8Flag): boolean {
  const spellings = [name, name.replaceAll('-', '_')];
  return nodeArgs().some((a) => spellings.some((s) => a.includes(s)));
}

/**
 * Loads code (`load`, a dynamic import) with every function of the modules it compiles compiled
 * at once (`--no-lazy`, put back to lazy after), as the daemon's spare loads the deployer's: for
 * a long-lived server whose work comes later, the agent (cli/commands.ts). Lazily, each function
 * of a deploy's path was compiled at its first call, in the deploy: six agents' first deploy of
 * the web build spent ~200 ms of their main threads on it (perf, `Compiler::Compile`, parsing and
 * bytecode), ~35 ms each, on a 2-core machine that all seven processes share. At start-up it costs
 * ~40 ms and ~3.5 MB of RSS, once. Left alone when `--lazy` or `--no-lazy` was given to Node.js.
 */
export async function compiledEagerly<T>(load: () => Promise<T>): Promise<T> {
  if (nodeArgs().some((a) => /^--(no-)?lazy$/.test(a))) return load();
  v8.setFlagsFromString('--no-lazy');
  try {
    return await load();
  } finally {
    v8.setFlagsFromString('--lazy');
  }
}
