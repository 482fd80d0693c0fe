import { afterEach, describe, expect, it, vi } from 'vitest';
import { type WaveJob, WaveSender } from './wave.js';

/** A sender whose writes are recorded (job ids per addBulk) and answered when the test says. */
function recorder(restDelayMs = 60_000) {
  const writes: string[][] = [];
  const answers: { ok(): void; fail(e: Error): void }[] = [];
  const wave = new WaveSender<WaveJob>({
    chunk: 3,
    restDelayMs,
    add: (jobs) =>
      new Promise<void>((resolve, reject) => {
        writes.push(jobs.map((j) => j.jobId));
        answers.push({ ok: resolve, fail: reject });
      }),
  });
  return { wave, writes, answers };
}

/** Jobs `ids` queued in one turn, priorities in the order given reversed (the last ranks first). */
function wave(w: WaveSender<WaveJob>, ids: string[]): Promise<void>[] {
  return ids.map((jobId, i) => w.enqueue({ jobId, priority: ids.length - i }));
}

const turn = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('WaveSender', () => {
  it('writes the best-ranked chunk first and holds the rest until every job of it is taken', async () => {
    const { wave: w, writes, answers } = recorder();
    const added = wave(w, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    await turn();
    expect(writes).toEqual([['h', 'g', 'f']]);
    expect(w.holding).toBe(true);
    answers[0]!.ok();
    await Promise.all(added.slice(5));
    w.taken('h');
    w.taken('g');
    expect(writes).toHaveLength(1);
    w.taken('f');
    // The rest in chunks, back to back, best-ranked first.
    expect(writes).toEqual([
      ['h', 'g', 'f'],
      ['e', 'd', 'c'],
      ['b', 'a'],
    ]);
    expect(w.holding).toBe(false);
    for (const a of answers.slice(1)) a.ok();
    await Promise.all(added);
  });

  it('writes the held rest after the delay when the fleet takes fewer jobs than the first chunk', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { wave: w, writes } = recorder(50);
    wave(w, ['a', 'b', 'c', 'd', 'e']);
    await turn();
    w.taken('e'); // one idle worker
    vi.advanceTimersByTime(49);
    expect(writes).toEqual([['e', 'd', 'c']]);
    vi.advanceTimersByTime(1);
    expect(writes).toEqual([
      ['e', 'd', 'c'],
      ['b', 'a'],
    ]);
  });

  it('writes a wave whole while a job of the run waits in Redis: held jobs could rank above it', async () => {
    const { wave: w, writes } = recorder();
    wave(w, ['a', 'b']);
    await turn();
    expect(writes).toEqual([['b', 'a']]);
    w.taken('b'); // 'a' still waits
    w.enqueue({ jobId: 'x', priority: 10 });
    w.enqueue({ jobId: 'y', priority: 11 });
    w.enqueue({ jobId: 'z', priority: 12 });
    w.enqueue({ jobId: 'top', priority: 1 });
    await turn();
    expect(writes).toEqual([['b', 'a'], ['top', 'x', 'y'], ['z']]);
    expect(w.holding).toBe(false);
  });

  it('merges a held rest into the next wave and writes both, in priority order', async () => {
    const { wave: w, writes } = recorder();
    wave(w, ['a', 'b', 'c', 'd', 'e']); // priorities 5..1
    await turn();
    expect(writes).toEqual([['e', 'd', 'c']]);
    w.enqueue({ jobId: 'late', priority: 4 }); // between the held 'b' (4) and 'a' (5)
    await turn();
    expect(writes).toEqual([
      ['e', 'd', 'c'],
      ['b', 'late', 'a'],
    ]);
    expect(w.holding).toBe(false);
  });

  it('a failed write rejects its jobs and lets the held rest go (they fail or land on their own)', async () => {
    const { wave: w, writes, answers } = recorder();
    const added = wave(w, ['a', 'b', 'c', 'd']);
    await turn();
    answers[0]!.fail(new Error('connection lost'));
    const first = await Promise.allSettled(added.slice(1));
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(writes).toEqual([['d', 'c', 'b'], ['a']]);
    answers[1]!.ok();
    await expect(added[0]).resolves.toBeUndefined();
  });

  it('counts a job given back to the queue (or stalled) as waiting again: the held rest goes at once, the next wave whole', async () => {
    const { wave: w, writes } = recorder();
    wave(w, ['a', 'b', 'c', 'd', 'e']); // priorities 5..1
    await turn();
    expect(writes).toEqual([['e', 'd', 'c']]);
    // A worker took 'e' and gave it back (it did not fit): it waits in Redis again, where the held
    // 'b' and 'a' would rank above it.
    w.taken('e');
    w.requeued('e');
    expect(writes).toEqual([
      ['e', 'd', 'c'],
      ['b', 'a'],
    ]);
    expect(w.holding).toBe(false);
    for (const id of ['d', 'c', 'b', 'a']) w.taken(id);
    wave(w, ['f', 'g', 'h', 'i', 'j']);
    await turn();
    expect(writes.slice(2)).toEqual([
      ['j', 'i', 'h'],
      ['g', 'f'],
    ]);
    // Back at work and done: a later wave is held again.
    w.taken('e');
    for (const id of ['j', 'i', 'h', 'g', 'f']) w.taken(id);
    wave(w, ['k', 'l', 'm', 'n']);
    await turn();
    expect(writes.slice(4)).toEqual([['n', 'm', 'l']]);
    expect(w.holding).toBe(true);
  });

  it('holds nothing for a wave that fits in one chunk', async () => {
    const { wave: w, writes } = recorder();
    wave(w, ['a', 'b', 'c']);
    await turn();
    expect(writes).toEqual([['c', 'b', 'a']]);
    expect(w.holding).toBe(false);
  });
});
