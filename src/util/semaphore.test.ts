import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

/** A piece of work the test ends by hand. */
function held() {
  let end!: (fail?: boolean) => void;
  const done = new Promise<void>((resolve, reject) => {
    end = (fail) => (fail ? reject(new Error('failed')) : resolve());
  });
  return { done, end };
}

const turns = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  it('runs at most `limit` at once, the rest in arrival order, and all of them however many wait', async () => {
    const s = new Semaphore(4);
    const work = Array.from({ length: 12 }, held);
    const started: number[] = [];
    const all = work.map((w, i) =>
      s.run(() => {
        started.push(i);
        return w.done;
      }),
    );
    await turns();
    expect(started).toEqual([0, 1, 2, 3]);
    // Eight wait; ending the four that run lets the next four start, and so on to the end.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) work[round * 4 + i]!.end();
      await turns();
      await turns();
      expect(started).toEqual(Array.from({ length: Math.min(12, (round + 2) * 4) }, (_, i) => i));
    }
    await Promise.all(all);
  });

  it('frees the place of work that fails', async () => {
    const s = new Semaphore(1);
    const a = held();
    const first = s.run(() => a.done);
    let second = false;
    const next = s.run(async () => {
      second = true;
    });
    a.end(true);
    await expect(first).rejects.toThrow('failed');
    await next;
    expect(second).toBe(true);
  });
});
