import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deltaScanner } from './delta-scan.js';
import { sampleJs, scanJs } from './delta-scan-js.js';
import { entryOf, sumsOf, weakOf } from './delta-sums.js';
import type { ChunkId } from './types.js';
import { deltaRequest } from './wire-delta.js';

/** delta-scan-js.ts roll() as it was written in JavaScript: the reference. */
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

/** The base's checksums as an agent sends them, decoded. */
function sumsOfBase(base: Buffer): { block: number; sums: Buffer; n: number } {
  const req = deltaRequest('0'.repeat(64) as ChunkId, [], base);
  const sums = Buffer.from(req.sums, 'base64');
  return { block: req.block, sums, n: sums.length / 4 };
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
        // One byte on, as delta-scan-js.ts scanJs() does after a stop without a hit.
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
  it('scans as the JavaScript scan does: the same copies and literals, chains of blocks alike, the same sample of literals', () => {
    const s = scanner!;
    const base = randomBytes(96 * 1024);
    // A stretch of one block repeated: base blocks whose entries are all equal (a chain of them).
    for (let at = 40 * 1024; at < 56 * 1024; at += 1536) base.copy(base, at, 40 * 1024, 41 * 1024 + 512);
    const { block, sums, n } = sumsOfBase(base);
    const pieces = (...xs: Buffer[]) => Buffer.concat(xs);
    const cases = [
      base,
      pieces(randomBytes(7), base.subarray(0, 30_000), randomBytes(5000), base.subarray(30_000)),
      pieces(base.subarray(60_000), base.subarray(0, 60_000)),
      pieces(
        base.subarray(42 * 1024, 50 * 1024),
        base.subarray(10_000, 20_000),
        base.subarray(42 * 1024, 50 * 1024),
      ),
      pieces(randomBytes(50_000), base.subarray(base.length - 3 * block)),
      pieces(base.subarray(0, 3 * block + 5), randomBytes(20_000)),
      randomBytes(80_000),
      base.subarray(0, block),
      base.subarray(0, block - 1),
    ];
    // The same weak high half for other blocks than the window's, with other low bytes: stops
    // whose chain holds no block that agrees, and chains of several.
    const forged = Buffer.from(sums);
    for (let k = 1; k < n; k += 7) {
      forged[k * 4] = forged[0]!;
      forged[k * 4 + 1] = forged[1]!;
      forged[k * 4 + 2] = forged[k * 4 + 2]! ^ (k & 1 ? 0x5a : 0);
      forged[k * 4 + 3] = forged[k * 4 + 3]! ^ (k & 1 ? 0 : 0x33);
    }
    let found = 0;
    for (const table of [sums, forged]) {
      for (const data of cases) {
        if (data.length < block) {
          expect(s.scan(data.length, block, table, n)).toBeUndefined();
          continue;
        }
        s.load(data);
        const got = s.scan(data.length, block, table, n);
        expect(got && [...got]).toEqual(scanJs(data, block, table, n));
        if (!got) continue;
        found++;
        // The sample of its literals, as wire-delta.ts sampleOf counts them in JavaScript.
        for (const stride of [1, 7, 1000]) {
          const { counts, n: sampled } = s.sample(stride);
          const want = sampleJs(data, got, block, stride);
          expect(sampled).toBe(want.n);
          expect([...counts]).toEqual([...want.counts]);
        }
      }
    }
    expect(found).toBeGreaterThanOrEqual(10);
    // The tables are cleared: a scan against no block finds nothing.
    s.load(base);
    expect(s.scan(base.length, block, sums, 0)).toBeUndefined();
  });
});
