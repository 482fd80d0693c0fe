/**
 * An agent's memory given back once a deploy is over (idle-memory.ts): a collection once no request
 * came for a moment after one that ended a deploy, never while one is in flight, once per deploy.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { collectGarbage, IdleMemory } from './idle-memory.js';

function idle(settled: () => Promise<unknown> = async () => {}) {
  const runs: number[] = [];
  const m = new IdleMemory(settled, async () => void runs.push(Date.now()), 20);
  return { m, runs };
}

/** The clock moved on by `ms` under fake timers, the promises their callbacks start settled. */
const pass = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('IdleMemory', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('collects once after a deploy ended and nothing came for a moment', async () => {
    const { m, runs } = idle();
    m.begin();
    m.end(false);
    await pass(60);
    expect(runs).toHaveLength(0); // no deploy ended: nothing to give back
    m.begin();
    m.end(true);
    await pass(60);
    expect(runs).toHaveLength(1);
    m.begin();
    m.end(false);
    await pass(60);
    expect(runs).toHaveLength(1); // once per deploy
  });

  it('waits while a request is in flight, and for the work after the answer', async () => {
    let release = () => {};
    const pruning = new Promise<void>((r) => {
      release = r;
    });
    const { m, runs } = idle(() => pruning);
    m.begin();
    m.begin();
    m.end(true);
    await pass(60);
    expect(runs).toHaveLength(0); // one still in flight
    m.end(false);
    await pass(60);
    expect(runs).toHaveLength(0); // the pruning runs
    release();
    await vi.waitFor(() => expect(runs).toHaveLength(1));
  });

  it('puts the collection off when a request comes before it', async () => {
    const { m, runs } = idle();
    m.begin();
    m.end(true);
    await pass(5);
    m.begin();
    await pass(60);
    expect(runs).toHaveLength(0);
    m.end(false);
    await pass(60);
    expect(runs).toHaveLength(1);
  });

  it('gives malloc free pages back (glibc)', async () => {
    await expect(collectGarbage()).resolves.toBeUndefined();
  });
});
