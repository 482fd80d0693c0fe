import { describe, expect, it } from 'vitest';
import type { ChunkId } from '../types.js';
import { batch, Turns } from './batching.js';

const id = (n: number) => n.toString(16).padStart(64, '0') as ChunkId;

describe('batch', () => {
  it('cuts batches of about `bytes`, the first of about `first`, in order', () => {
    const ids = Array.from({ length: 10 }, (_, i) => id(i));
    const sizes = new Map(ids.map((c) => [c, 100]));
    expect(batch(ids, sizes, 300).map((b) => b.length)).toEqual([3, 3, 3, 1]);
    const cut = batch(ids, sizes, 400, 100);
    expect(cut.map((b) => b.length)).toEqual([1, 4, 4, 1]);
    expect(cut.flat()).toEqual(ids);
  });
});

describe('Turns', () => {
  it('gives each turn once the one taken before it is released, in the order taken', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const takes = [turns.take(), turns.take(), turns.take()];
    const due = takes.map((t, i) =>
      t.then((release) => {
        log.push(`due ${i}`);
        return release;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['due 0']);
    // The third waits for the second's release, not the first's.
    const second = due[1]!;
    (await due[0]!)();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['due 0', 'due 1']);
    (await second)();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['due 0', 'due 1', 'due 2']);
    // A turn taken after all were released is due at once.
    (await due[2]!)();
    let late = false;
    void turns.take().then(() => {
      late = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(late).toBe(true);
  });

  it('gives the first turn at once and the second once `after` settles too, a rejection as well', async () => {
    for (const fails of [false, true]) {
      let settle!: () => void;
      const after = new Promise<void>((resolve, reject) => {
        settle = fails ? () => reject(new Error('no start')) : resolve;
      });
      const turns = new Turns(after);
      const log: string[] = [];
      const first = turns.take().then((release) => {
        log.push('first');
        return release;
      });
      void turns.take().then(() => log.push('second'));
      await new Promise((r) => setImmediate(r));
      expect(log).toEqual(['first']);
      (await first)();
      await new Promise((r) => setImmediate(r));
      expect(log).toEqual(['first']);
      settle();
      await new Promise((r) => setImmediate(r));
      expect(log).toEqual(['first', 'second']);
    }
  });
});
