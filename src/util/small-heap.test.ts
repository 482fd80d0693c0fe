import { describe, expect, it } from 'vitest';
import { growYoungGeneration, type YoungGeneration } from './small-heap.js';

/** A young generation that reaches `grownAt` bytes after `looks` looks at its size. */
function fake(start: number, grownAt: number, looks: number) {
  const calls: string[] = [];
  let seen = 0;
  const young: YoungGeneration = {
    size: () => (++seen > looks ? grownAt : start),
    setGrowthFactor: (f) => calls.push(`factor ${f}`),
  };
  return { young, calls, looks: () => seen };
}

describe('growing the young generation for a deploy', () => {
  it('lets it grow only while it is smaller than asked, and holds it there after', () => {
    const f = fake(2 << 20, 8 << 20, 3);
    growYoungGeneration(f.young, 8 << 20);
    expect(f.calls).toEqual(['factor 4', 'factor 1']);
    expect(f.looks()).toBe(4);
  });

  it('leaves a young generation that is grown already as it is', () => {
    const f = fake(8 << 20, 8 << 20, 0);
    growYoungGeneration(f.young, 8 << 20);
    expect(f.calls).toEqual([]);
  });

  it('gives up after a bounded effort where V8 does not grow it (and still holds it)', () => {
    const f = fake(2 << 20, 2 << 20, Number.POSITIVE_INFINITY);
    growYoungGeneration(f.young, 8 << 20);
    expect(f.calls).toEqual(['factor 4', 'factor 1']);
    expect(f.looks()).toBeLessThanOrEqual(1 + 4096 / 64);
  });

  it('grows it by what reaches the target from its size, not past it', () => {
    const f = fake(4 << 20, 8 << 20, 3);
    growYoungGeneration(f.young, 8 << 20);
    expect(f.calls).toEqual(['factor 2', 'factor 1']);
  });
});
