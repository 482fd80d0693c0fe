/**
 * Holding a deployment until its environment's deploy window opens. The clock and the sleep are
 * injected, so tests move time instead of waiting for it.
 */

import type { DeployWindow } from '../config/deploy-window.js';
import { err, ok, type Result } from '../util/result.js';
import { formatMs } from '../util/units.js';
import { nextOpening } from './deploy-window.js';

export interface WindowClock {
  now(): number;
  /** Resolves after `ms` or when `signal` aborts, whichever is first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const systemClock: WindowClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

export type WindowRefusal =
  | { reason: 'closed'; opensAt: number | undefined; message: string }
  | { reason: 'aborted'; message: string };

/** "Mon 2026-12-07 02:00 UTC (in 1d 2h)". */
function describeOpening(at: number | undefined, now: number): string {
  if (at === undefined) return 'none within 8 days';
  const iso = new Date(at).toISOString();
  const day = new Date(at).toUTCString().slice(0, 3);
  return `${day} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC (in ${formatMs(at - now)})`;
}

/**
 * Resolves once `now` is inside one of `windows`. With `wait` false, a closed window is refused
 * at once; an abort while waiting is refused too. Re-checks at least every minute, so a clock
 * that jumps (suspend, NTP) is seen.
 */
export async function waitForWindow(opts: {
  environment: string;
  windows: readonly DeployWindow[];
  wait: boolean;
  clock?: WindowClock;
  signal?: AbortSignal;
  onWait?(message: string): void;
}): Promise<Result<{ waitedMs: number }, WindowRefusal>> {
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const list = opts.windows.map((w) => w.text).join(', ');
  let told = false;
  for (;;) {
    const now = clock.now();
    const opens = nextOpening(opts.windows, now);
    if (opens === now) return ok({ waitedMs: now - started });
    if (!opts.wait)
      return err({
        reason: 'closed',
        opensAt: opens,
        message: `${opts.environment} is outside its deploy window${opts.windows.length > 1 ? 's' : ''} (${list}); the next opens ${describeOpening(opens, now)}`,
      });
    if (opts.signal?.aborted)
      return err({
        reason: 'aborted',
        message: `stopped while waiting for the deploy window of ${opts.environment}`,
      });
    if (!told) {
      opts.onWait?.(
        `${opts.environment} is outside its deploy window (${list}): waiting until ${describeOpening(opens, now)}; --now deploys anyway, --no-wait refuses`,
      );
      told = true;
    }
    await clock.sleep(Math.min(Math.max((opens ?? now + 60_000) - now, 1), 60_000), opts.signal);
  }
}
