import { describe, expect, it } from 'vitest';
import { formatMs, parseDuration } from './units.js';

/** Milliseconds a formatted duration stands for (the inverse of formatMs, up to its rounding). */
function readBack(s: string): number {
  const m = /^(?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|(\d+(?:\.\d+)?)s|(\d+)ms)$/.exec(s);
  if (!m) throw new Error(`unexpected duration format: ${s}`);
  if (m[1] !== undefined) return (Number(m[1]) * 60 + Number(m[2])) * 60_000;
  if (m[3] !== undefined) return (Number(m[3]) * 60 + Number(m[4])) * 1000;
  if (m[5] !== undefined) return Number(m[5]) * 1000;
  return Number(m[6]);
}

describe('formatMs', () => {
  it('rounds up into the next unit instead of printing 60 of the smaller one', () => {
    expect(formatMs(999.6)).toBe('1.00s');
    expect(formatMs(9_996)).toBe('10.0s');
    expect(formatMs(59_960)).toBe('1m00s');
    expect(formatMs(119_500)).toBe('2m00s');
    expect(formatMs(3_599_600)).toBe('1h00m');
    expect(formatMs(7_199_999)).toBe('2h00m');
  });

  it('prints each range in its own form', () => {
    expect(formatMs(0)).toBe('0ms');
    expect(formatMs(850)).toBe('850ms');
    expect(formatMs(1_234)).toBe('1.23s');
    expect(formatMs(12_340)).toBe('12.3s');
    expect(formatMs(184_000)).toBe('3m04s');
    expect(formatMs(7_500_000)).toBe('2h05m');
    expect(formatMs(-1_500)).toBe('-1.50s');
    expect(formatMs(Number.NaN)).toBe('-');
  });

  it('never shows 60 seconds or 60 minutes, stays within its rounding and never goes backwards', () => {
    let previous = -1;
    // Every 37 ms up to 3 hours: crosses each unit boundary many times at odd offsets.
    for (let ms = 0; ms < 3 * 3_600_000; ms += ms < 120_000 ? 37 : 9_973) {
      const s = formatMs(ms);
      expect(s, `${ms}`).not.toMatch(/(^|[hm])60[ms]|^60\.0s/);
      const back = readBack(s);
      const step = ms < 1000 ? 1 : ms < 10_000 ? 10 : ms < 60_000 ? 100 : ms < 3_600_000 ? 1000 : 60_000;
      expect(Math.abs(back - ms), `${ms} -> ${s}`).toBeLessThanOrEqual(step / 2 + 1e-6);
      expect(back, `${ms} -> ${s}`).toBeGreaterThanOrEqual(previous);
      previous = back;
    }
  });
});

describe('parseDuration', () => {
  it('reads unit strings and a bare number as seconds (as the command line gives it)', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('5')).toBe(5000);
    expect(parseDuration('2.5')).toBe(2500);
    expect(parseDuration(5)).toBe(5000);
    expect(parseDuration('5 minutes')).toBeUndefined();
    expect(parseDuration('-5')).toBeUndefined();
  });
});
