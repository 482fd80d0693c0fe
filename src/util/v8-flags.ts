/**
 * The V8 flags Slipway's own processes change at run time (small-heap.ts, hot-code-only.ts), set
 * in one place so that they can be put back as the process started with them: V8 stamps a code
 * cache with a hash of every flag's value and rejects one made under other values, and the cold
 * CLI makes its code cache at the end of a command (cli/code-cache.ts), after a deploy changed
 * three of them. A cache made without putting them back was rejected at every start.
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

/** Sets a V8 flag for the rest of the process (or until set again), remembering its start-up value. */
export function setV8Flag(name: RuntimeV8Flag, value: number): void {
  if (!before.has(name)) before.set(name, givenOnCommandLine(name) ? undefined : DEFAULTS[name]);
  v8.setFlagsFromString(`--${name}=${value}`);
}

/**
 * Puts every flag setV8Flag changed back to its start-up value; false when one was given on
 * Node.js's command line (or NODE_OPTIONS), whose value is not known here.
 */
export function restoreV8Flags(): boolean {
  let all = true;
  for (const [name, value] of before) {
    if (value === undefined) all = false;
    else v8.setFlagsFromString(`--${name}=${value}`);
  }
  if (all) before.clear();
  return all;
}

/** Whether the flag was passed to Node.js itself (either spelling, `-` or `_`). */
function givenOnCommandLine(name: RuntimeV8Flag): boolean {
  const spellings = [name, name.replaceAll('-', '_')];
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((a) => spellings.some((s) => a.includes(s)));
}
