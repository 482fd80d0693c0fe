/**
 * A large file whose length changed, its base copied ahead moved by the shift the deployer
 * predicted (shift-probe.ts, copies-ahead.ts): the file is written over that copy, only the chunks
 * not at their place in it, and comes out byte for byte whether the prediction was right or not;
 * a copy of a base changed since, or made with another shift, is never taken.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { aheadIn, aheadSetup, entry, P } from '../../../test/helpers/copies-ahead.js';
import { tempDirs } from '../../../test/helpers/temp-dirs.js';
import { chunkBuffer } from '../fastcdc.js';
import { probeShift } from '../shift-probe.js';
import type { ChunkId } from '../types.js';
import { type CopiesAhead, type Shift, validShift } from './copies-ahead.js';
import { writeFromBase } from './file-from-base.js';
import { copyAheadBody } from './requests.js';

const tmp = tempDirs();
const setup = (old: Buffer) => aheadSetup(() => tmp('slipway-shifted-'), old);

/** `copies` as file-from-base.ts asks of them, with what its last take handed over (`taken()`). */
function recording(copies: CopiesAhead, before?: string) {
  let last: string | undefined = before;
  const ahead = {
    take: async (p: string, s?: Shift) => (last = await copies.take(p, s)),
    drop: (p: string) => copies.drop(p),
    shiftOf: (p: string) => copies.shiftOf(p),
  };
  return { ahead, taken: () => last };
}

/**
 * Writes `fresh` from `old` with a copy made ahead with `shift`; what was taken, the chunks asked
 * of the index, and the bytes written. `tamper` runs once the copy is made, before the writing.
 */
async function writeWith(old: Buffer, fresh: Buffer, shift: Shift, tamper?: (copy: string) => void) {
  const { dir, base, copies } = setup(old);
  const e = entry('new.bin', fresh);
  const byId = new Map(chunkBuffer(fresh, P).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]));
  const asked: ChunkId[] = [];
  const chunk = async (id: ChunkId) => {
    asked.push(id);
    return Buffer.from(byId.get(id)!);
  };
  expect(copies.start(base, shift)).toBe(true);
  expect(await copies.whenCopied(base.path)).toBe(true);
  if (tamper) tamper(path.join(dir, aheadIn(dir)[0]!));
  const { ahead, taken } = recording(copies);
  const dest = path.join(dir, 'new.bin');
  const b = { path: base.path, chunks: entry('old.bin', old).chunks };
  expect(await writeFromBase({ e, dest, base: b, chunk, flush: true, ahead })).toBe(true);
  await expect.poll(() => aheadIn(dir), { timeout: 10_000 }).toEqual([]);
  expect(readFileSync(base.path).equals(old)).toBe(true);
  expect(copies.size).toBe(0);
  return { out: readFileSync(dest), taken: taken(), asked, e };
}

describe('a base copied ahead with a shift', () => {
  it('is the base moved: its head the base, from `at` the base from `from`, of either size', async () => {
    for (const size of [300_000, 9 * 1024 * 1024]) {
      const old = randomBytes(size);
      for (const shift of [
        { at: 4096, from: 0 },
        { at: 1000, from: 5003 },
        { at: 0, from: 8192 },
      ]) {
        const { base, copies } = setup(old);
        expect(copies.start(base, shift)).toBe(true);
        expect(copies.shiftOf(base.path)).toEqual(shift);
        // Taken only with the shift it was made with.
        const made = await copies.take(base.path, shift);
        expect(made).toBeDefined();
        const want = Buffer.concat([old.subarray(0, shift.at), old.subarray(shift.from)]);
        expect(readFileSync(made!).equals(want)).toBe(true);
      }
    }
  });

  it('is not taken as a plain copy nor with another shift, and is removed', async () => {
    const old = randomBytes(200_000);
    const { dir, base, copies } = setup(old);
    copies.start(base, { at: 4096, from: 0 });
    expect(await copies.take(base.path)).toBeUndefined();
    expect(aheadIn(dir)).toEqual([]);
    copies.start(base, { at: 4096, from: 0 });
    expect(await copies.take(base.path, { at: 4096, from: 1 })).toBeUndefined();
    expect(aheadIn(dir)).toEqual([]);
    // A plain copy is not taken with a shift either.
    copies.start(base);
    expect(copies.shiftOf(base.path)).toBeUndefined();
    expect(await copies.take(base.path, { at: 4096, from: 0 })).toBeUndefined();
    expect(aheadIn(dir)).toEqual([]);
  });

  it('is not started past the base end or for no shift at all', () => {
    const { base, copies } = setup(randomBytes(10_000));
    expect(copies.start(base, { at: 10_001, from: 0 })).toBe(false);
    expect(copies.start(base, { at: 0, from: 10_001 })).toBe(false);
    expect(copies.start(base, { at: 5, from: 5 })).toBe(false);
    expect(copies.start(base, { at: -1, from: 0 })).toBe(false);
    expect(validShift({ at: 0.5, from: 0 }, 10)).toBe(false);
    expect(copies.size).toBe(0);
  });

  it('prediction right (bytes inserted at the start): only the head is written', async () => {
    const old = randomBytes(1024 * 1024);
    const fresh = Buffer.concat([randomBytes(4096), old]);
    // A mark past the head, in the copy only: kept there since that chunk is not written.
    const mark = 600_000;
    const { out, taken, asked, e } = await writeWith(old, fresh, { at: 4096, from: 0 }, (copy) => {
      const b = readFileSync(copy);
      b[mark + 4096] = b[mark + 4096]! ^ 0xff;
      writeFileSync(copy, b);
    });
    expect(taken).toBeDefined();
    const want = Buffer.from(fresh);
    want[mark + 4096] = want[mark + 4096]! ^ 0xff;
    expect(out.equals(want)).toBe(true);
    // Only chunks of the first few KB were asked for.
    let o = 0;
    const head = new Set<ChunkId>();
    for (const [id, n] of e.chunks) {
      if (o < 4096 + 2 * P.max) head.add(id);
      o += n;
    }
    expect(asked.length).toBeGreaterThan(0);
    for (const id of asked) expect(head.has(id)).toBe(true);
  });

  it('prediction right: byte for byte, whether the shift is block-aligned, large or small', async () => {
    for (const [size, ins] of [
      [9 * 1024 * 1024, 4096],
      [9 * 1024 * 1024, 777],
      [400_000, 123],
    ] as const) {
      const old = randomBytes(size);
      const fresh = Buffer.concat([randomBytes(ins), old]);
      const { out, taken } = await writeWith(old, fresh, { at: ins, from: 0 });
      expect(taken).toBeDefined();
      expect(out.equals(fresh)).toBe(true);
    }
  });

  it('prediction wrong (a second edit later in the file): byte for byte', async () => {
    const old = randomBytes(1024 * 1024);
    const fresh = Buffer.concat([randomBytes(4096), old]);
    randomBytes(20_000).copy(fresh, 700_000);
    const { out, taken } = await writeWith(old, fresh, { at: 4096, from: 0 });
    expect(taken).toBeDefined();
    expect(out.equals(fresh)).toBe(true);
  });

  it('prediction wrong (the file shrank, another shift predicted): byte for byte', async () => {
    const old = randomBytes(1024 * 1024);
    // 10,000 bytes removed at 300,000 and 5,000 more at 800,000.
    const fresh = Buffer.concat([
      old.subarray(0, 300_000),
      old.subarray(310_000, 800_000),
      old.subarray(805_000),
    ]);
    for (const shift of [
      { at: 300_000, from: 310_000 },
      { at: 0, from: 15_000 },
      { at: 4096, from: 0 },
    ]) {
      const { out } = await writeWith(old, fresh, shift);
      expect(out.equals(fresh)).toBe(true);
    }
  });

  it('prediction right for a file that shrank at its start, and one that grew in the middle', async () => {
    const old = randomBytes(1024 * 1024);
    const shrank = old.subarray(8192);
    const a = await writeWith(old, Buffer.from(shrank), { at: 0, from: 8192 });
    expect(a.taken).toBeDefined();
    expect(a.out.equals(shrank)).toBe(true);
    const grew = Buffer.concat([old.subarray(0, 500_000), randomBytes(3000), old.subarray(500_000)]);
    const b = await writeWith(old, grew, { at: 503_000, from: 500_000 });
    expect(b.taken).toBeDefined();
    expect(b.out.equals(grew)).toBe(true);
  });

  it('whose base changed after the copy began is not taken: written as without it', async () => {
    const old = randomBytes(1024 * 1024);
    const fresh = Buffer.concat([randomBytes(4096), old]);
    const { dir, base, copies } = setup(old);
    const e = entry('new.bin', fresh);
    const byId = new Map(
      chunkBuffer(fresh, P).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]),
    );
    const chunk = async (id: ChunkId) => Buffer.from(byId.get(id)!);
    copies.start(base, { at: 4096, from: 0 });
    const later = new Date(base.mtimeMs + 5_000);
    utimesSync(base.path, later, later);
    const { ahead, taken } = recording(copies, 'not asked');
    const dest = path.join(dir, 'new.bin');
    const b = { path: base.path, chunks: entry('old.bin', old).chunks };
    expect(await writeFromBase({ e, dest, base: b, chunk, ahead })).toBe(true);
    expect(taken()).toBeUndefined();
    expect(readFileSync(dest).equals(fresh)).toBe(true);
    await expect.poll(() => aheadIn(dir), { timeout: 10_000 }).toEqual([]);
  });
});

describe('the shift of a file whose length changed (shift-probe.ts)', () => {
  const chunksOf = (b: Buffer) => entry('x', b).chunks;
  const probe = (old: Buffer, fresh: Buffer) => {
    const f = path.join(tmp('slipway-probe-'), 'f.bin');
    writeFileSync(f, fresh);
    return probeShift(f, fresh.length, chunksOf(old));
  };

  it('finds bytes inserted or removed, from the first chunk that moved', async () => {
    const old = randomBytes(300_000);
    expect(await probe(old, Buffer.concat([randomBytes(4096), old]))).toEqual({ at: 4096, from: 0 });
    const mid = await probe(
      old,
      Buffer.concat([old.subarray(0, 150_000), randomBytes(100), old.subarray(150_000)]),
    );
    expect(mid!.at - mid!.from).toBe(100);
    expect(mid!.from).toBeGreaterThan(140_000);
    expect(mid!.from).toBeLessThanOrEqual(150_000 + P.max);
    const cut = await probe(old, old.subarray(50_000));
    expect(cut!.from - cut!.at).toBe(50_000);
  });

  it('finds nothing when the end did not move alike, the length is the same, or nothing was known', async () => {
    const old = randomBytes(300_000);
    expect(await probe(old, Buffer.concat([old, randomBytes(10)]))).toBeUndefined();
    expect(await probe(old, randomBytes(300_000))).toBeUndefined();
    expect(await probe(old, randomBytes(301_000))).toBeUndefined();
    const f = path.join(tmp('slipway-probe-'), 'f.bin');
    writeFileSync(f, old);
    expect(await probeShift(f, 10, [])).toBeUndefined();
    expect(await probeShift(path.join(f, 'gone'), 400_000, chunksOf(old))).toBeUndefined();
  });
});

describe("the copy-ahead request's shifts", () => {
  it('are optional, and whole non-negative offsets', () => {
    expect(copyAheadBody.safeParse({ paths: ['a'] }).success).toBe(true);
    expect(copyAheadBody.safeParse({ paths: [], shifted: [{ path: 'a', at: 4096, from: 0 }] }).success).toBe(
      true,
    );
    for (const bad of [
      { path: 'a', at: -1, from: 0 },
      { path: 'a', at: 1.5, from: 0 },
      { path: '', at: 1, from: 0 },
      { path: 'a', at: 1 },
      { path: 'a', at: 1, from: 0, more: 1 },
    ])
      expect(copyAheadBody.safeParse({ paths: [], shifted: [bad] }).success).toBe(false);
  });
});
