/**
 * An agent's memory given back once a deploy is over (idle-memory.ts): a collection once no request
 * came for a moment after one that ended a deploy, never while one is in flight, once per deploy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { collectGarbage, IdleMemory } from './idle-memory.js';

function idle(settled: () => Promise<unknown> = async () => {}) {
  const runs: number[] = [];
  const m = new IdleMemory(settled, async () => void runs.push(Date.now()), 20);
  return { m, runs };
}

describe('IdleMemory', () => {
  it('collects once after a deploy ended and nothing came for a moment', async () => {
    const { m, runs } = idle();
    m.begin();
    m.end(false);
    await sleep(60);
    expect(runs).toHaveLength(0); // no deploy ended: nothing to give back
    m.begin();
    m.end(true);
    await sleep(60);
    expect(runs).toHaveLength(1);
    m.begin();
    m.end(false);
    await sleep(60);
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
    await sleep(60);
    expect(runs).toHaveLength(0); // one still in flight
    m.end(false);
    await sleep(60);
    expect(runs).toHaveLength(0); // the pruning runs
    release();
    await sleep(10);
    expect(runs).toHaveLength(1);
  });

  it('puts the collection off when a request comes before it', async () => {
    const { m, runs } = idle();
    m.begin();
    m.end(true);
    await sleep(5);
    m.begin();
    await sleep(60);
    expect(runs).toHaveLength(0);
    m.end(false);
    await sleep(60);
    expect(runs).toHaveLength(1);
  });

  it('gives malloc free pages back (glibc)', async () => {
    await expect(collectGarbage()).resolves.toBeUndefined();
  });
});
