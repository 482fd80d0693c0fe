import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deltaScanner } from './delta-scan.js';
import { entryOf, sumsOf, weakOf } from './delta-sums.js';

/** wire-delta.ts roll() as it was written in JavaScript: the reference. */
function rollJs(
  data: Uint8Array,
  seen: Uint8Array,
  block: number,
  i: number,
  last: number,
  a: number,
  b: number,
) {
  while (seen[b] !== 1) {
    if (i >= last) {
      i = last + 1;
      break;
    }
    const out = data[i]!;
    a = (a - out + data[i + block]!) & 0xffff;
    b = (b - Math.imul(block, out) + a) & 0xffff;
    i++;
  }
  return { i, a, b };
}

describe('delta scanner (WebAssembly)', () => {
  const scanner = deltaScanner();

  it('is available here', () => {
    expect(scanner).toBeDefined();
  });

  it('packs the same entries as entryOf(sumsOf()) for even, odd and large blocks', () => {
    const s = scanner!;
    const data = randomBytes(300_000);
    // Runs of high bytes too: the sums' carries and the FNV lanes on 0xff.
    data.fill(0xff, 1000, 40_000);
    s.load(data);
    for (const n of [1, 2, 3, 128, 129, 274, 391, 1024, 1025, 4096, 65_537]) {
      for (const at of [0, 1, 999, 7777, 200_000]) {
        if (at + n > data.length) continue;
        expect(s.entry(at, n)).toBe(entryOf(sumsOf(data, at, n)));
      }
    }
  });

  it('grows its memory for larger bytes and reads them where loaded', () => {
    const s = scanner!;
    const big = randomBytes(3 * 1024 * 1024 + 17);
    s.load(big);
    expect(s.entry(big.length - 1025, 1025)).toBe(entryOf(sumsOf(big, big.length - 1025, 1025)));
  });

  it('slides as the JavaScript roll does: same stops and halves', () => {
    const s = scanner!;
    const data = randomBytes(200_000);
    const seen = new Uint8Array(65536);
    for (const block of [128, 391, 1024]) {
      s.load(data);
      // Mark the high halves of some real windows (and a few others) as the base's.
      const marks: number[] = [];
      for (const at of [5000, 77_777, 150_001]) marks.push(weakOf(data, at, block) >>> 16);
      for (let k = 0; k < 40; k++) marks.push((k * 2654435761) & 0xffff);
      for (const b of marks) {
        seen[b] = 1;
        s.mark(b, 1);
      }
      const last = data.length - block;
      const rolled = new Int32Array(2);
      let i = 0;
      let w = weakOf(data, 0, block);
      let a = w & 0xffff;
      let b = w >>> 16;
      let stops = 0;
      while (i <= last) {
        const want = rollJs(data, seen, block, i, last, a, b);
        const got = s.roll(block, i, last, a, b, rolled);
        expect([got, rolled[0], rolled[1]]).toEqual([want.i, want.a, want.b]);
        if (got > last) break;
        stops++;
        // The window at a stop is the real one.
        w = weakOf(data, got, block);
        expect([rolled[0], rolled[1]]).toEqual([w & 0xffff, w >>> 16]);
        // One byte on, as wire-delta.ts scan() does after a stop without a hit.
        i = got;
        a = rolled[0]!;
        b = rolled[1]!;
        if (i < last) {
          const out = data[i]!;
          a = (a - out + data[i + block]!) & 0xffff;
          b = (b - Math.imul(block, out) + a) & 0xffff;
        }
        i++;
      }
      expect(stops).toBeGreaterThanOrEqual(3);
      for (const b of marks) {
        seen[b] = 0;
        s.mark(b, 0);
      }
    }
  });
});
