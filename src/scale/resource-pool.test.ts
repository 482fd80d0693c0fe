import { describe, expect, it } from 'vitest';
import { pickFitting } from './job-picker.js';
import { ResourcePool } from './resource-pool.js';

describe('ResourcePool', () => {
  it('takes a slot and the request only when they fit now; a release frees them once', async () => {
    const pool = new ResourcePool(2, 2, 100);
    const a = pool.take({ cpu: 1, memory: 60 })!;
    expect(a).toBeDefined();
    expect(pool.take({ cpu: 1, memory: 60 })).toBeUndefined(); // memory
    const woken = pool.released();
    const c = pool.take({ cpu: 1, memory: 10 })!;
    expect(pool.slotFree).toBe(false);
    expect(pool.take({ cpu: 0.1, memory: 0 })).toBeUndefined(); // no slot
    a();
    a(); // releasing twice gives nothing back twice
    await woken;
    expect(pool.busySlots).toBe(1);
    expect(pool.busy).toBe(0.5);
    c();
    expect(pool.busy).toBe(0);
  });

  it('a request larger than the worker runs alone instead of never', () => {
    const pool = new ResourcePool(2, 2, 100);
    const big = pool.take({ cpu: 8, memory: 1000 })!;
    expect(pool.busy).toBe(1);
    expect(pool.take({ cpu: 1, memory: 0 })).toBeUndefined();
    big();
    expect(pool.busy).toBe(0);
  });
});

describe('pickFitting', () => {
  /** A queue of jobs in priority order, as BullMQ hands them out. */
  function queue(ids: string[]) {
    const waiting = [...ids];
    const given: string[][] = [];
    return {
      waiting,
      given,
      next: async () => waiting.shift(),
      giveBack: async (jobs: string[]) => {
        given.push(jobs);
        waiting.unshift(...jobs);
      },
    };
  }
  const cpu: Record<string, number> = { big: 2, small: 1, tiny: 0.5, other: 1 };

  it('skips a job that does not fit to the highest-priority one that does, and gives the skipped back', async () => {
    const pool = new ResourcePool(2, 2, 100);
    pool.take({ cpu: 1, memory: 0 }); // one cpu busy
    const q = queue(['small', 'other']);
    const got = await pickFitting('big', {
      ...q,
      request: (j) => ({ cpu: cpu[j]!, memory: 0 }),
      fits: (r) => pool.fits(r),
    });
    expect(got).toBe('small');
    expect(q.given).toEqual([['big']]);
    // The big job is first in the queue again, ahead of the rest.
    expect(q.waiting).toEqual(['big', 'other']);
  });

  it('the top job that fits is taken at once, nothing skipped', async () => {
    const pool = new ResourcePool(2, 2, 100);
    const q = queue(['small']);
    const got = await pickFitting('big', {
      ...q,
      request: (j) => ({ cpu: cpu[j]!, memory: 0 }),
      fits: (r) => pool.fits(r),
    });
    expect(got).toBe('big');
    expect(q.given).toEqual([]);
    expect(q.waiting).toEqual(['small']);
  });

  it('when nothing fits, everything looked at goes back in order and the worker waits', async () => {
    const pool = new ResourcePool(2, 2, 100);
    pool.take({ cpu: 1.8, memory: 0 });
    const q = queue(['small', 'other']);
    const got = await pickFitting('big', {
      ...q,
      request: (j) => ({ cpu: cpu[j]!, memory: 0 }),
      fits: (r) => pool.fits(r),
    });
    expect(got).toBeUndefined();
    expect(q.given).toEqual([['big', 'small', 'other']]);
    expect(q.waiting).toEqual(['big', 'small', 'other']);
  });
});
