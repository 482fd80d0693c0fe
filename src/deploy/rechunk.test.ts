import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { mulberry32 } from '../analyze/random.js';
import { chunkFile } from './chunk-file.js';
import { fastHasher, joinFast, newFastSeed } from './fast-hash.js';
import { type ChunkingParams, chunkIdOf, chunkingBuffer } from './fastcdc.js';
import { rechunkFile } from './rechunk.js';
import type { ChunkId } from './types.js';

// Small chunks so that a few hundred KB hold hundreds of them, and a buffer of 4 * max so that
// chunking crosses many refills.
const P: ChunkingParams = { min: 256, avg: 1024, max: 4096 };
const buffer = () => chunkingBuffer(4 * P.max);

type Edit = 'overwrite' | 'insert' | 'delete' | 'append' | 'truncate' | 'prepend';
const EDITS: Edit[] = ['overwrite', 'insert', 'delete', 'append', 'truncate', 'prepend'];

/** `data` with one random edit of kind `kind`. */
function edit(data: Buffer, kind: Edit, rnd: () => number, seed: number): Buffer {
  const len = 1 + Math.floor(rnd() * 3 * P.max);
  const at = Math.floor(rnd() * data.length);
  const bytes = noise(len, seed);
  switch (kind) {
    case 'overwrite': {
      const out = Buffer.from(data);
      bytes.copy(out, Math.min(at, Math.max(0, out.length - len)));
      return out;
    }
    case 'insert':
      return Buffer.concat([data.subarray(0, at), bytes, data.subarray(at)]);
    case 'delete':
      return Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + len))]);
    case 'append':
      return Buffer.concat([data, bytes]);
    case 'truncate':
      return data.subarray(0, at);
    case 'prepend':
      return Buffer.concat([bytes, data]);
  }
}

describe('rechunkFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-rechunk-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function both(data: Buffer, old: [ChunkId, number][]) {
    const file = path.join(dir, 'f');
    await writeFile(file, data);
    const full = await chunkFile(file, P, buffer());
    const inc = await rechunkFile(file, old, P, buffer());
    return { full, inc };
  }

  it('gives the chunks of a full pass after random edits of every kind, reusing unchanged ones', async () => {
    const rnd = mulberry32(17);
    let reusedSomewhere = 0;
    for (let round = 0; round < 60; round++) {
      const kind = EDITS[round % EDITS.length]!;
      const original = noise(64 * 1024 + Math.floor(rnd() * 256 * 1024), 100 + round);
      const file = path.join(dir, 'f');
      await writeFile(file, original);
      const old = (await chunkFile(file, P, buffer())).chunks;
      // One to three edits between the two passes.
      let data = original;
      const n = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < n; k++) data = edit(data, kind, rnd, round * 10 + k);
      const { full, inc } = await both(data, old);
      expect(inc.chunks, `round ${round} (${kind})`).toEqual(full.chunks);
      expect(inc.size).toBe(data.length);
      reusedSomewhere += inc.reused;
    }
    // The point of it: most chunks of a lightly edited file are taken, not scanned.
    expect(reusedSomewhere).toBeGreaterThan(0);
  });

  it('reuses every chunk but the edited ones and the tail after an edit in place', async () => {
    const original = noise(512 * 1024, 5);
    const file = path.join(dir, 'f');
    await writeFile(file, original);
    const old = (await chunkFile(file, P, buffer())).chunks;
    const data = Buffer.from(original);
    noise(100, 6).copy(data, 200 * 1024);
    const { full, inc } = await both(data, old);
    expect(inc.chunks).toEqual(full.chunks);
    const changed = full.chunks.filter(([id]) => !old.some(([o]) => o === id)).length;
    // Scanned: the changed chunk(s), the one after them, and the last `max` bytes' few chunks.
    expect(inc.reused).toBeGreaterThanOrEqual(full.chunks.length - changed - 1 - 6);
  });

  it('finds the old chunks again after bytes inserted at the start', async () => {
    const original = noise(512 * 1024, 7);
    const file = path.join(dir, 'f');
    await writeFile(file, original);
    const old = (await chunkFile(file, P, buffer())).chunks;
    const { full, inc } = await both(Buffer.concat([noise(4096, 8), original]), old);
    expect(inc.chunks).toEqual(full.chunks);
    expect(inc.reused).toBeGreaterThanOrEqual(full.chunks.length - 2 - 6);
  });

  it('checks each id it takes from the old list: wrong ids and sizes (a damaged ledger) are scanned instead', async () => {
    const data = noise(200 * 1024, 9);
    const file = path.join(dir, 'f');
    await writeFile(file, data);
    const real = (await chunkFile(file, P, buffer())).chunks;
    const lies: [ChunkId, number][] = real.map(([id, n], i) => [
      i % 2 ? ('0'.repeat(64) as ChunkId) : id,
      n + (i % 3),
    ]);
    lies.push(['f'.repeat(64) as ChunkId, 10 * P.max]);
    const { full, inc } = await both(data, lies);
    expect(inc.chunks).toEqual(full.chunks);
    const empty = await both(data, []);
    expect(empty.inc.chunks).toEqual(full.chunks);
    expect(empty.inc.reused).toBe(0);
  });

  describe('with fast hashes (fast-hash.ts)', () => {
    const hasher = () => fastHasher(newFastSeed())!;

    /** `data` written and chunked with `h`: its chunks and their fast hashes, as the ledger keeps them. */
    async function recorded(data: Buffer, h: ReturnType<typeof hasher>) {
      const file = path.join(dir, 'f');
      await writeFile(file, data);
      const first = await chunkFile(file, P, buffer(), h);
      return { chunks: first.chunks, fast: joinFast(first.fast!) };
    }

    it('gives the chunks of a full pass after random edits, confirming unchanged ones by their fast hashes', async () => {
      const h = await hasher();
      const rnd = mulberry32(23);
      let reusedSomewhere = 0;
      for (let round = 0; round < 30; round++) {
        const kind = EDITS[round % EDITS.length]!;
        const original = noise(64 * 1024 + Math.floor(rnd() * 256 * 1024), 300 + round);
        const old = await recorded(original, h);
        const data = edit(original, kind, rnd, round);
        const file = path.join(dir, 'f');
        await writeFile(file, data);
        const full = await chunkFile(file, P, buffer(), h);
        const inc = await rechunkFile(file, old.chunks, P, buffer(), { hasher: h, old: old.fast });
        expect(inc.chunks, `round ${round} (${kind})`).toEqual(full.chunks);
        // The fast hashes kept for the next deploy are those of the new chunks.
        expect(inc.fast, `round ${round} (${kind})`).toEqual(full.fast);
        reusedSomewhere += inc.reused;
      }
      expect(reusedSomewhere).toBeGreaterThan(0);
    });

    it('does not confirm a chunk changed in place (same size, same place): it gets its new SHA-256 id', async () => {
      const h = await hasher();
      const original = noise(256 * 1024, 31);
      const old = await recorded(original, h);
      // Bytes changed inside the first `min` bytes of a chunk, which the cut never looks at:
      // the chunk keeps its place and size, only its content differs.
      const k = 10;
      const at = old.chunks.slice(0, k).reduce((o, [, n]) => o + n, 0) + 16;
      const data = Buffer.from(original);
      noise(64, 32).copy(data, at);
      const file = path.join(dir, 'f');
      await writeFile(file, data);
      const inc = await rechunkFile(file, old.chunks, P, buffer(), { hasher: h, old: old.fast });
      const full = await chunkFile(file, P, buffer());
      expect(inc.chunks).toEqual(full.chunks);
      const [id, n] = inc.chunks[k]!;
      expect(n).toBe(old.chunks[k]![1]);
      expect(id).not.toBe(old.chunks[k]![0]);
      expect(id).toBe(chunkIdOf(data.subarray(at - 16, at - 16 + n)));
      // Every other chunk kept its id, and all but this one and the last `max` bytes' were confirmed.
      expect(inc.chunks.filter(([c], i) => c !== old.chunks[i]![0])).toHaveLength(1);
      expect(inc.reused).toBeGreaterThanOrEqual(inc.chunks.length - 1 - 6);
    });

    it('confirms by the fast hash alone: a recorded id is taken on a match, and hashes of another seed match nothing', async () => {
      const h = await hasher();
      const data = noise(128 * 1024, 33);
      const old = await recorded(data, h);
      // Ids the bytes do not have, beside their true fast hashes: taken as recorded, which shows
      // the fast hash alone confirms. (Away from the last `max` bytes, always scanned.)
      const fake: [ChunkId, number][] = old.chunks.map(([, n], i) => [
        i.toString(16).padStart(64, '0') as ChunkId,
        n,
      ]);
      const file = path.join(dir, 'f');
      const inc = await rechunkFile(file, fake, P, buffer(), { hasher: h, old: old.fast });
      expect(inc.chunks[0]![0]).toBe(fake[0]![0]);
      expect(inc.reused).toBeGreaterThan(0);
      // Fast hashes of another seed confirm nothing: every chunk gets its SHA-256 id.
      const other = await hasher();
      const checked = await rechunkFile(file, fake, P, buffer(), { hasher: other, old: old.fast });
      expect(checked.chunks).toEqual(old.chunks);
      expect(checked.reused).toBe(0);
    });

    it('confirms by SHA-256 where the old list has no fast hashes, and takes them for next time', async () => {
      const h = await hasher();
      const original = noise(256 * 1024, 35);
      const old = await recorded(original, h);
      const data = Buffer.from(original);
      noise(100, 36).copy(data, 100 * 1024);
      const file = path.join(dir, 'f');
      await writeFile(file, data);
      const full = await chunkFile(file, P, buffer(), h);
      const inc = await rechunkFile(file, old.chunks, P, buffer(), { hasher: h });
      expect(inc.chunks).toEqual(full.chunks);
      expect(inc.fast).toEqual(full.fast);
      expect(inc.reused).toBeGreaterThan(0);
      // Hashes of another length than the list (a damaged ledger): the same.
      const cut = await rechunkFile(file, old.chunks, P, buffer(), { hasher: h, old: old.fast.subarray(16) });
      expect(cut.chunks).toEqual(full.chunks);
    });
  });
});
