import { describe, expect, it } from 'vitest';
import { FramePool } from './frame-pool.js';

describe('FramePool', () => {
  it('hands a given-back buffer to the next frame of its step, and only once', () => {
    const pool = new FramePool();
    const a = pool.take(40_000);
    expect(a.length).toBe(40_000);
    pool.give(a);
    pool.give(a);
    const b = pool.take(45_000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(45_000);
    const c = pool.take(45_000);
    expect(c.buffer).not.toBe(a.buffer);
    expect(pool.reused).toBe(1);
  });

  it('keeps a frame of another step, a foreign buffer and anything past its limit out', () => {
    const pool = new FramePool(64 * 1024);
    const small = pool.take(1000);
    pool.give(small);
    expect(pool.take(40_000).buffer).not.toBe(small.buffer);
    const foreign = Buffer.allocUnsafeSlow(16 * 1024);
    pool.give(foreign);
    expect(pool.take(16 * 1024).buffer).toBe(small.buffer);
    expect(pool.take(16 * 1024).buffer).not.toBe(foreign.buffer);
    const big = [pool.take(60_000), pool.take(60_000)];
    for (const b of big) pool.give(b);
    // 64 KiB each: the second would pass the 64 KiB limit and is left to the collector.
    expect(pool.take(60_000).buffer).toBe(big[0]!.buffer);
    expect(pool.take(60_000).buffer).not.toBe(big[1]!.buffer);
  });

  it('frees a held buffer once each of its users gave it back', () => {
    const pool = new FramePool();
    const slab = pool.take(1 << 20);
    pool.hold(slab.subarray(0, 10));
    pool.hold(slab.subarray(10, 20));
    pool.give(slab);
    pool.give(slab.subarray(0, 10));
    expect(pool.take(1 << 20).buffer).not.toBe(slab.buffer);
    pool.give(slab.subarray(10, 20));
    expect(pool.take(1 << 20).buffer).toBe(slab.buffer);
    // A foreign buffer held is still ignored.
    const foreign = Buffer.allocUnsafeSlow(16 * 1024);
    pool.hold(foreign);
    pool.give(foreign);
    expect(pool.take(16 * 1024).buffer).not.toBe(foreign.buffer);
  });
});
