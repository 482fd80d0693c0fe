import { describe, expect, it } from 'vitest';
import { pacer } from './pacer.js';

/**
 * A clock that only moves when a send sleeps (to its wake-up time, never back): `sleeps` holds when
 * each waiting send goes, in ms from the clock's start, which is the pacer's whole output.
 */
function fakeClock() {
  const t0 = 1000;
  let t = t0;
  const sleeps: number[] = [];
  return {
    sleeps,
    advance: (ms: number) => {
      t += ms;
    },
    clock: {
      now: () => t,
      sleep: async (ms: number) => {
        const wake = t + ms;
        sleeps.push(wake - t0);
        t = Math.max(t, wake);
      },
    },
  };
}

describe('origin egress pacer', () => {
  it('spaces sends so they average the rate: 1 MiB sends at 1 MiB/s go a second apart', async () => {
    const f = fakeClock();
    const pace = pacer(1024 * 1024, f.clock);
    for (let i = 0; i < 3; i++) await pace(1024 * 1024);
    expect(f.sleeps).toEqual([1000, 2000]);
  });

  it('shares one budget between concurrent sends (two agents at once)', async () => {
    const f = fakeClock();
    const pace = pacer(2048, f.clock);
    await Promise.all([pace(1024), pace(1024), pace(1024)]);
    // Both later sends were booked behind the ones before them, not each against the link alone.
    expect(f.sleeps).toEqual([500, 1000]);
  });

  it('does not bank idle time: a send after a pause goes at once, the next one waits its share', async () => {
    const f = fakeClock();
    const pace = pacer(1000, f.clock);
    await pace(1000);
    f.advance(5000);
    await pace(1000);
    await pace(500);
    // The second send at 6000 goes at once; the third waits for it to clear the link (7000).
    expect(f.sleeps).toEqual([7000 - 1000]);
  });

  it('never waits without a positive rate', async () => {
    for (const rate of [undefined, 0, -5]) {
      const f = fakeClock();
      const pace = pacer(rate, f.clock);
      for (let i = 0; i < 4; i++) await pace(10 * 1024 * 1024);
      expect(f.sleeps).toEqual([]);
    }
  });
});
