/**
 * Parallel chunking must give exactly the sequential pass's chunk list. The segments run here on
 * this thread (interleaved, as Promise.all runs them) through the same code a worker runs
 * (rechunk.ts, chunkRun); test/deploy/parallel-chunk.e2e.test.ts runs the built worker threads.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { mulberry32 } from '../analyze/random.js';
import { err } from '../util/result.js';
import type { SegmentRunner } from './cdc-pool.js';
import { chunkFile } from './chunk-file.js';
import { fastHasher, joinFast, newFastSeed } from './fast-hash.js';
import { type ChunkingParams, chunkingBuffer, DEFAULT_CHUNKING } from './fastcdc.js';
import { PARALLEL_MIN } from './large-chunks.js';
import { chunkParallel, type Lane, segmentStarts, thisThread } from './parallel-chunk.js';
import type { ChunkId } from './types.js';

const P: ChunkingParams = { min: 256, avg: 1024, max: 4096 };
const buffer = (p: ChunkingParams = P) => chunkingBuffer(4 * p.max);

/** Two lanes on this thread, each with a buffer of its own, as the workers have. */
const lanes = (p: ChunkingParams = P): Lane[] => [thisThread(buffer(p)), thisThread(buffer(p))];
const inThread: SegmentRunner = (task) => thisThread(buffer(task.params)).run(task);

/** `k - 1` distinct random offsets in (0, size) after 0. */
function randomStarts(size: number, k: number, rnd: () => number): number[] {
  const set = new Set<number>();
  while (set.size < k - 1) set.add(1 + Math.floor(rnd() * (size - 1)));
  return [0, ...[...set].sort((a, b) => a - b)];
}

/** Offsets where the sequential pass cuts. */
function cuts(chunks: [ChunkId, number][]): number[] {
  const out: number[] = [];
  let o = 0;
  for (const [, n] of chunks) {
    o += n;
    out.push(o);
  }
  return out;
}

describe('chunkParallel', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-pchunk-'));
    file = path.join(dir, 'f');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `data`, chunks it both ways from `starts`; returns the sequential list and the stitched one. */
  async function both(data: Buffer, starts: number[], old?: [ChunkId, number][], p: ChunkingParams = P) {
    await writeFile(file, data);
    const seq = await chunkFile(file, p, buffer(p));
    const par = await chunkParallel(file, data.length, old, p, lanes(p), starts, buffer(p));
    if (!par.ok) throw new Error(par.error);
    return { seq, par: par.value };
  }

  it('gives the sequential chunks of random data from random segment starts', async () => {
    const rnd = mulberry32(3);
    for (let round = 0; round < 40; round++) {
      const data = noise(32 * 1024 + Math.floor(rnd() * 400 * 1024), 500 + round);
      const starts = randomStarts(data.length, 2 + Math.floor(rnd() * 5), rnd);
      const { seq, par } = await both(data, starts);
      expect(par.chunks, `round ${round}, starts ${starts}`).toEqual(seq.chunks);
      expect(par.size).toBe(data.length);
    }
  });

  it('gives the sequential chunks with segments starting at, next to and just before boundaries and the end', async () => {
    const data = noise(300 * 1024, 41);
    await writeFile(file, data);
    const at = cuts((await chunkFile(file, P, buffer())).chunks);
    const b = at[Math.floor(at.length / 3)]!;
    const c = at[Math.floor((2 * at.length) / 3)]!;
    const cases = [
      [0, b, c],
      [0, b - 1, c + 1],
      [0, b + 1, c - 1],
      [0, P.min, P.max],
      [0, b, b + 1],
      [0, data.length - P.max, data.length - 1],
      [0, data.length - P.min],
      [0, at[at.length - 2]!],
    ];
    for (const starts of cases) {
      const { seq, par } = await both(data, starts);
      expect(par.chunks, `starts ${starts}`).toEqual(seq.chunks);
    }
  });

  it('gives the sequential chunks of a changed file, checking the old chunks segment by segment', async () => {
    const rnd = mulberry32(9);
    for (let round = 0; round < 30; round++) {
      const original = noise(64 * 1024 + Math.floor(rnd() * 300 * 1024), 900 + round);
      await writeFile(file, original);
      const old = (await chunkFile(file, P, buffer())).chunks;
      const at = Math.floor(rnd() * original.length);
      const bytes = noise(1 + Math.floor(rnd() * 3 * P.max), round);
      const data =
        round % 3 === 0
          ? Buffer.concat([bytes, original]) // shifted
          : round % 3 === 1
            ? Buffer.concat([original.subarray(0, at), bytes, original.subarray(at)])
            : Buffer.concat([
                original.subarray(0, at),
                original.subarray(Math.min(original.length, at + 5000)),
              ]);
      const starts = randomStarts(data.length, 2 + Math.floor(rnd() * 3), rnd);
      const { seq, par } = await both(data, starts, old);
      expect(par.chunks, `round ${round}, starts ${starts}`).toEqual(seq.chunks);
    }
  });

  it('gives the sequential chunks and fast hashes of a changed file confirmed by fast hashes', async () => {
    const rnd = mulberry32(19);
    const hasher = fastHasher(newFastSeed())!;
    let reused = 0;
    for (let round = 0; round < 12; round++) {
      const original = noise(64 * 1024 + Math.floor(rnd() * 300 * 1024), 1900 + round);
      await writeFile(file, original);
      const first = await chunkFile(file, P, buffer(), hasher);
      const data = Buffer.from(original);
      noise(200, round).copy(data, Math.floor(rnd() * (data.length - 200)));
      await writeFile(file, data);
      const seq = await chunkFile(file, P, buffer(), hasher);
      const starts = randomStarts(data.length, 2 + Math.floor(rnd() * 3), rnd);
      const fast = { hasher, old: joinFast(first.fast!) };
      const par = await chunkParallel(file, data.length, first.chunks, P, lanes(), starts, buffer(), fast);
      if (!par.ok) throw new Error(par.error);
      expect(par.value.chunks, `round ${round}, starts ${starts}`).toEqual(seq.chunks);
      expect(par.value.fast, `round ${round}, starts ${starts}`).toEqual(seq.fast);
      reused += seq.chunks.filter(([id], i) => first.chunks[i]?.[0] === id).length;
    }
    expect(reused).toBeGreaterThan(0);
  });

  it('stitches through long runs of zeros, where chains cut at max and meet only after them', async () => {
    const zeros = (n: number) => Buffer.alloc(n);
    const data = Buffer.concat([
      noise(40 * 1024, 1),
      zeros(200 * 1024 + 77),
      noise(30 * 1024, 2),
      zeros(90 * 1024),
    ]);
    const inZeros = 40 * 1024 + 1000;
    let stitched = 0;
    for (const starts of [
      [0, inZeros],
      [0, inZeros, inZeros + 3 * P.max + 5],
      [0, inZeros + 150 * 1024, data.length - 50 * 1024],
      [0, data.length - 20 * 1024],
    ]) {
      const { seq, par } = await both(data, starts);
      expect(par.chunks, `starts ${starts}`).toEqual(seq.chunks);
      stitched += par.stitched;
      // The same with the old chunks of a shifted copy.
      await writeFile(file, data.subarray(100));
      const old = (await chunkFile(file, P, buffer())).chunks;
      const again = await both(data, starts, old);
      expect(again.par.chunks, `starts ${starts}, old list`).toEqual(again.seq.chunks);
    }
    // Runs of zeros kept chains apart past the overlap: this thread chunked on to meet them.
    expect(stitched).toBeGreaterThan(0);
  });

  it('gives the sequential chunks of a file just over the parallel threshold, with default parameters', async () => {
    const size = PARALLEL_MIN + 1;
    const data = Buffer.concat([
      noise(size / 2 - 100_000 - 0.5, 77),
      Buffer.alloc(400_000),
      noise(size / 2 - 300_000 + 0.5, 78),
    ]);
    expect(data.length).toBe(size);
    const { seq, par } = await both(data, segmentStarts(size), undefined, DEFAULT_CHUNKING);
    expect(par.chunks).toEqual(seq.chunks);
    const three = await chunkParallel(
      file,
      size,
      seq.chunks,
      DEFAULT_CHUNKING,
      lanes(DEFAULT_CHUNKING),
      segmentStarts(size, size / 3),
      buffer(DEFAULT_CHUNKING),
    );
    expect(three.ok && three.value.chunks).toEqual(seq.chunks);
  });

  it("hands a failed lane's segment to another lane, and fails only when no lane is left or the file changed", async () => {
    const data = noise(200 * 1024, 5);
    await writeFile(file, data);
    const seq = await chunkFile(file, P, buffer());
    const starts = [0, 50 * 1024, 100 * 1024, 150 * 1024];
    let calls = 0;
    const dying: Lane = {
      run: async () => {
        calls++;
        return err('worker gone');
      },
    };
    const notStarted: Lane = { run: dying.run, ready: Promise.resolve(false) };
    const handedBack = await chunkParallel(
      file,
      data.length,
      undefined,
      P,
      [dying, notStarted, ...lanes()],
      starts,
      buffer(),
    );
    expect(handedBack.ok && handedBack.value.chunks).toEqual(seq.chunks);
    expect(calls).toBe(1);
    // A worker that fails on its segment after the other lane has run out of segments and stopped:
    // that lane is started again for the segment handed back.
    let ranOut: () => void = () => {};
    const othersDone = new Promise<void>((resolve) => {
      ranOut = resolve;
    });
    const main = thisThread(buffer());
    let mainRuns = 0;
    const counting: Lane = {
      run: async (task) => {
        const r = await main.run(task);
        if (++mainRuns === starts.length - 1) ranOut();
        return r;
      },
    };
    const late: Lane = {
      run: async () => {
        await othersDone;
        await new Promise((resolve) => setTimeout(resolve, 20));
        return err('worker gone late');
      },
    };
    const taken = await chunkParallel(file, data.length, undefined, P, [counting, late], starts, buffer());
    expect(taken.ok && taken.value.chunks).toEqual(seq.chunks);
    expect(taken.ok && taken.value.byLane).toEqual([starts.length, 0]);
    expect(await chunkParallel(file, data.length, undefined, P, [dying], starts, buffer())).toEqual(
      err('worker gone'),
    );
    const lying: Lane = {
      run: async (task) => {
        const r = await inThread(task);
        if (r.ok && task.from > 0) r.value.chunks[0]![1] += 1;
        return r;
      },
    };
    const bad = await chunkParallel(file, data.length, undefined, P, [lying], starts, buffer());
    expect(bad.ok).toBe(false);
    const grown = await chunkParallel(file, data.length - 10, undefined, P, lanes(), starts, buffer());
    expect(grown.ok).toBe(false);
    const unordered = await chunkParallel(file, data.length, undefined, P, lanes(), [0, 5, 5], buffer());
    expect(unordered.ok).toBe(false);
  });
});
