/**
 * Fault injection for the crash tests (`test/faults/`): `SLIPWAY_FAILPOINT=archive:2` makes this
 * process kill itself with SIGKILL the second time `failpoint('archive')` is reached, exactly as
 * `kill -9` from outside would, but at a chosen point instead of a chosen moment, so a crash test
 * is deterministic on a loaded machine. Several points: `a:1,b:3`. Unset (always, in normal use),
 * a call costs one Map lookup.
 */

// Read on first use, not at load: a daemon's spare loads this before its command's environment is set.
let armed: Map<string, number> | undefined;
const reached = new Map<string, number>();

function parse(spec: string): Map<string, number> {
  const points = new Map<string, number>();
  for (const part of spec.split(',')) {
    // Names may hold colons (`deploy:stage`): only a trailing `:<digits>` is the visit number.
    const m = /^(.+?)(?::(\d+))?$/.exec(part.trim());
    const name = m?.[1];
    const nth = m?.[2];
    if (!name) continue;
    const n = nth === undefined ? 1 : Number(nth);
    if (Number.isInteger(n) && n >= 1) points.set(name, n);
  }
  return points;
}

/** Dies here (SIGKILL, no cleanup, no exit handlers) when this point is armed for this visit. */
export function failpoint(name: string): void {
  armed ??= parse(process.env.SLIPWAY_FAILPOINT ?? '');
  const nth = armed.get(name);
  if (nth === undefined) return;
  const count = (reached.get(name) ?? 0) + 1;
  reached.set(name, count);
  if (count === nth) process.kill(process.pid, 'SIGKILL');
}
