import { describe, expect, it } from 'vitest';
import { rightSize } from './right-size.js';

const GiB = 1024 ** 3;

describe('right-sizing (VPA style)', () => {
  it('targets p90 × 1.15 with bounds that tighten with samples', () => {
    // cpu 0.1 … 1.0: p90 (R-7) = 0.91; memory 1..10 GiB: p90 = 9.1 GiB.
    const samples = Array.from({ length: 10 }, (_, i) => ({ cpu: (i + 1) / 10, memory: (i + 1) * GiB }));
    const r = rightSize({ taskId: 't', samples, request: {}, poolCpu: 8 });
    expect(r.cpu!.target).toBeCloseTo(0.91 * 1.15, 10);
    expect(r.memory!.target).toBeCloseTo(9.1 * 1.15 * GiB, 0);
    // 10 samples = confidence unit 1: upper = target × 2.
    expect(r.cpu!.upper).toBeCloseTo(0.91 * 1.15 * 2, 10);
    expect(r.confidence).toBeCloseTo(0.5, 12);

    const more = rightSize({
      taskId: 't',
      samples: [...samples, ...samples, ...samples, ...samples],
      request: {},
      poolCpu: 8,
    });
    expect(more.confidence).toBeGreaterThan(r.confidence);
    expect(more.cpu!.upper - more.cpu!.target).toBeLessThan(r.cpu!.upper - r.cpu!.target);
  });

  it('flags requests that cost parallelism and requests that risk running out of memory', () => {
    const samples = Array.from({ length: 30 }, () => ({ cpu: 0.5, memory: 2 * GiB }));
    const r = rightSize({ taskId: 't', samples, request: { cpu: 4, memory: 1 * GiB }, poolCpu: 8 });
    const kinds = r.flags.map((f) => f.kind);
    expect(kinds).toEqual(['cpu-over-requested', 'memory-under-requested']);
    const over = r.flags[0]!;
    // 8 cpus fit 2 copies at 4 cpus and 13 at the 0.575 target.
    expect(over.kind === 'cpu-over-requested' && over.parallelismLost).toBe(11);
  });

  it('a well-sized task has no flags; no samples, no estimate', () => {
    const samples = Array.from({ length: 30 }, () => ({ cpu: 0.9, memory: 1 * GiB }));
    expect(
      rightSize({ taskId: 't', samples, request: { cpu: 1, memory: 1.5 * GiB }, poolCpu: 4 }).flags,
    ).toEqual([]);
    const none = rightSize({ taskId: 't', samples: [], request: {}, poolCpu: 4 });
    expect(none.cpu).toBeUndefined();
    expect(none.confidence).toBe(0);
  });
});
