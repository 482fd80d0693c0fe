/** Deploy windows: parsing, open or closed at an instant, the next opening, waiting on a fake clock. */
import { describe, expect, it } from 'vitest';
import { parseWindow } from '../config/deploy-window.js';
import { isOpen, nextOpening } from './deploy-window.js';
import { type WindowClock, waitForWindow } from './wait-window.js';

const at = (iso: string) => Date.parse(iso);
const win = (text: string) => {
  const r = parseWindow(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
// 2026-12-07 is a Monday.

describe('parseWindow', () => {
  it('reads days, hours and zones', () => {
    const w = win('Mon-Fri 02:00-05:00 UTC');
    expect(w.days).toEqual([0, 1, 2, 3, 4]);
    expect([w.start, w.end]).toEqual([120, 300]);
    expect(win('Fri-Mon 22:00-24:00 +01:00').days).toEqual([0, 4, 5, 6]);
    expect(win('02:00-03:00').days.length).toBe(7);
    expect(win('Sat,Sun 10:00-12:00 Europe/Berlin').zone).toEqual({ kind: 'iana', name: 'Europe/Berlin' });
  });

  it.each([
    ['Mon-Fry 02:00-05:00 UTC', /not a day/],
    ['Mon-Fri 2am-5am', /no hours/],
    ['Mon-Fri 02:00-25:00 UTC', /HH:MM-HH:MM/],
    ['Mon-Fri 03:00-03:00 UTC', /empty window/],
    ['Mon-Fri 02:00-05:00 Mars/Olympus', /not a time zone/],
    ['Mon 02:00-05:00 UTC extra', /more than days/],
  ])('refuses %s', (text, why) => {
    const r = parseWindow(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(why);
  });
});

describe('isOpen and nextOpening', () => {
  it('opens on the listed days and hours only, end excluded', () => {
    const w = win('Mon-Fri 02:00-05:00 UTC');
    expect(isOpen(w, at('2026-12-07T02:00:00Z'))).toBe(true);
    expect(isOpen(w, at('2026-12-07T04:59:59Z'))).toBe(true);
    expect(isOpen(w, at('2026-12-07T05:00:00Z'))).toBe(false);
    expect(isOpen(w, at('2026-12-12T03:00:00Z'))).toBe(false); // Saturday
  });

  it('runs a window past midnight into the next day', () => {
    const w = win('Fri 22:00-02:00 UTC');
    expect(isOpen(w, at('2026-12-11T23:00:00Z'))).toBe(true); // Friday night
    expect(isOpen(w, at('2026-12-12T01:30:00Z'))).toBe(true); // Saturday morning
    expect(isOpen(w, at('2026-12-07T01:30:00Z'))).toBe(false); // Monday morning
  });

  it('honours offsets and named zones with daylight saving', () => {
    expect(isOpen(win('Mon 02:00-03:00 +02:00'), at('2026-12-07T00:30:00Z'))).toBe(true);
    // Berlin is UTC+1 in December, UTC+2 in July.
    const w = win('daily 09:00-10:00 Europe/Berlin');
    expect(isOpen(w, at('2026-12-07T08:30:00Z'))).toBe(true);
    expect(isOpen(w, at('2026-07-06T07:30:00Z'))).toBe(true);
    expect(isOpen(w, at('2026-07-06T08:30:00Z'))).toBe(false);
  });

  it('finds the next opening from a closed instant, and now when open', () => {
    const ws = [win('Mon-Fri 02:00-05:00 UTC')];
    expect(nextOpening(ws, at('2026-12-12T12:00:00Z'))).toBe(at('2026-12-14T02:00:00Z'));
    expect(nextOpening(ws, at('2026-12-08T03:17:00Z'))).toBe(at('2026-12-08T03:17:00Z'));
  });
});

/** A clock that only moves when slept on. */
function fakeClock(start: number): WindowClock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

describe('waitForWindow', () => {
  const windows = [win('Mon-Fri 02:00-05:00 UTC')];

  it('waits until the window opens, saying so once', async () => {
    const clock = fakeClock(at('2026-12-07T01:30:00Z'));
    const told: string[] = [];
    const r = await waitForWindow({
      environment: 'prod',
      windows,
      wait: true,
      clock,
      onWait: (m) => told.push(m),
    });
    expect(r).toEqual({ ok: true, value: { waitedMs: 30 * 60_000 } });
    expect(clock.now()).toBe(at('2026-12-07T02:00:00Z'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/prod is outside its deploy window .*waiting until Mon 2026-12-07 02:00 UTC/);
  });

  it('refuses at once without waiting, naming the next opening', async () => {
    const clock = fakeClock(at('2026-12-12T12:00:00Z'));
    const r = await waitForWindow({ environment: 'prod', windows, wait: false, clock });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.reason).toBe('closed');
      expect(r.error.message).toMatch(/next opens Mon 2026-12-14 02:00 UTC/);
    }
    expect(clock.slept).toEqual([]);
  });

  it('stops waiting when aborted', async () => {
    const clock = fakeClock(at('2026-12-12T12:00:00Z'));
    const abort = new AbortController();
    const sleep = clock.sleep;
    clock.sleep = async (ms, s) => {
      await sleep(ms, s);
      abort.abort();
    };
    const r = await waitForWindow({ environment: 'prod', windows, wait: true, clock, signal: abort.signal });
    expect(r.ok ? 'open' : r.error.reason).toBe('aborted');
  });
});
