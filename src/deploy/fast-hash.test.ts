import { describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { FAST_BYTES, fastHasher, isFastSeed, joinFast, newFastSeed, sameFast } from './fast-hash.js';

describe('fast hashes', () => {
  it('depend on the seed: the same bytes hash alike under one seed and differently under another', async () => {
    const a = newFastSeed();
    const b = newFastSeed();
    expect(isFastSeed(a) && isFastSeed(b)).toBe(true);
    expect(a).not.toBe(b);
    const bytes = noise(100_000, 1);
    const ha = (await fastHasher(a))!;
    const hb = (await fastHasher(b))!;
    const one = ha.of(bytes);
    expect(one).toHaveLength(FAST_BYTES);
    expect(ha.of(Buffer.from(bytes))).toEqual(one);
    expect(hb.of(bytes)).not.toEqual(one);
    // One byte changed changes the hash.
    const edited = Buffer.from(bytes);
    edited[50_000]! ^= 1;
    expect(ha.of(edited)).not.toEqual(one);
  });

  it('are compared at their place in a joined list', async () => {
    const h = (await fastHasher(newFastSeed()))!;
    const list = [noise(10, 2), noise(20, 3), noise(30, 4)].map((b) => h.of(b));
    const joined = joinFast(list);
    expect(joined).toHaveLength(3 * FAST_BYTES);
    expect(sameFast(list[1]!, joined, 1)).toBe(true);
    expect(sameFast(list[1]!, joined, 0)).toBe(false);
    expect(sameFast(list[1]!, joined, 3)).toBe(false);
  });

  it('refuses seeds that are not 16 hex digits', () => {
    for (const bad of ['', 'abc', '0123456789ABCDEF', '0123456789abcdef0', 42, undefined])
      expect(isFastSeed(bad)).toBe(false);
  });
});
