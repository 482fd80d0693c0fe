/**
 * Fault injection for the crash tests (`test/faults/`): `SLIPWAY_FAILPOINT=archive:2` makes this
 * process kill itself with SIGKILL the second time `failpoint('archive')` is reached, exactly as
 * `kill -9` from outside would, but at a chosen point instead of a chosen moment, so a crash test
 * is deterministic on a loaded machine. Several points: `a:1,b:3`. Unset (always, in normal use),
 * a call costs one Map lookup.
 */

const armed = parse(process.env.SLIPWAY_FAILPOINT ?? '');
const reached = new Map<string, number>();

function parse(spec: string): Map<string, number> {
  const points = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [name, nth] = part.trim().split(':');
    if (!name) continue;
    const n = nth === undefined ? 1 : Number(nth);
    if (Number.isInteger(n) && n >= 1) points.set(name, n);
  }
  return points;
}

/** Dies here (SIGKILL, no cleanup, no exit handlers) when this point is armed for this visit. */
export function failpoint(name: string): void {
  const nth = armed.get(name);
  if (nth === undefined) return;
  const count = (reached.get(name) ?? 0) + 1;
  reached.set(name, count);
  if (count === nth) process.kill(process.pid, 'SIGKILL');
}
