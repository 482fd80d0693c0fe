import { describe, expect, it } from 'vitest';
import { ResourcePool } from './resource-pool.js';

describe('ResourcePool', () => {
  it('a job waits until its cpu and memory are free, first come first served', async () => {
    const pool = new ResourcePool(2, 100);
    const order: string[] = [];
    const a = await pool.acquire(1, 60);
    const b = pool.acquire(1, 60).then((r) => {
      order.push('b');
      return r;
    });
    const c = pool.acquire(1, 10).then((r) => {
      order.push('c');
      return r;
    });
    await Promise.resolve();
    expect(order).toEqual([]); // b does not fit (memory); c waits behind b
    a();
    const rb = await b;
    const rc = await c;
    expect(order).toEqual(['b', 'c']);
    expect(pool.busy).toBe(1);
    rb();
    rb(); // releasing twice gives nothing back twice
    rc();
    expect(pool.busy).toBe(0);
  });

  it('a request larger than the worker runs alone instead of never', async () => {
    const pool = new ResourcePool(2, 100);
    const big = await pool.acquire(8, 1000);
    expect(pool.busy).toBe(1);
    big();
    expect(pool.busy).toBe(0);
  });
});
