import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noise } from '../../../test/helpers/noise.js';
import { tempDirs } from '../../../test/helpers/temp-dirs.js';
import { type ChunkingParams, chunkBuffer } from '../fastcdc.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import {
  ALIGNED_COPY_MIN,
  closeAligned,
  copiedNatively,
  copyFileAligned,
  openAligned,
  refused,
  writeAligned,
} from './aligned-writes.js';
import { closeBase, openBase } from './direct-bases.js';
import { DirectFile } from './direct-file.js';
import { ALIGNED_MIN, writeFromBase } from './file-from-base.js';
import { nativeAddon } from './native-addon.js';

const tmp = tempDirs();

function entry(data: Buffer, p: ChunkingParams): Extract<ManifestEntry, { type: 'file' }> {
  const chunks = chunkBuffer(data, p).map((c) => [c.id, c.size] as [ChunkId, number]);
  return { type: 'file', path: 'new.bin', mode: 0o644, size: data.length, chunks };
}

/** Each chunk of `e` at its first offset in `base`'s chunk list, or -1 (as file-from-base.ts plans). */
function plan(e: Extract<ManifestEntry, { type: 'file' }>, baseChunks: [ChunkId, number][]): number[] {
  const at = new Map<ChunkId, number>();
  let o = 0;
  for (const [id, size] of baseChunks) {
    if (!at.has(id)) at.set(id, o);
    o += size;
  }
  return e.chunks.map(([id]) => at.get(id) ?? -1);
}

function served(fresh: Buffer, p: ChunkingParams) {
  const byId = new Map(chunkBuffer(fresh, p).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]));
  const asked: ChunkId[] = [];
  return {
    asked,
    chunk: async (id: ChunkId) => {
      asked.push(id);
      await new Promise((r) => setTimeout(r, 1));
      return Buffer.from(byId.get(id)!);
    },
  };
}

describe('a file written in order with direct I/O', () => {
  it('comes out byte for byte: shifts, chunks and new bytes across block edges, an odd length, a repeat', async () => {
    // Chunks up to 1.5 MiB: some span the 1 MiB blocks, new ones too.
    const P = { min: 64 * 1024, avg: 256 * 1024, max: 1536 * 1024 };
    const old = noise(5 * 1024 * 1024 + 777, 1);
    const cases = [
      Buffer.concat([noise(4096, 2), old]),
      Buffer.concat([
        noise(4099, 3),
        old.subarray(0, 2_000_000),
        noise(1_300_000, 4),
        old.subarray(2_000_000),
      ]),
      Buffer.concat([old.subarray(10_000, 3_000_000), old.subarray(10_000, 1_000_000)]),
      old.subarray(0, 1024 * 1024 - 5),
    ];
    for (const [n, fresh] of cases.entries()) {
      const dir = tmp('slipway-aligned-');
      const basePath = path.join(dir, 'old.bin');
      writeFileSync(basePath, old);
      const dest = path.join(dir, `new${n}.bin`);
      writeFileSync(dest, '');
      const out = await openAligned(dest, basePath);
      // Where the filesystem takes no direct I/O the writer falls back (file-from-base.ts).
      if (!out) return;
      const e = entry(fresh, P);
      const from = plan(e, entry(old, P).chunks);
      const ix = served(fresh, P);
      const src = await open(basePath, 'r');
      try {
        await writeAligned(out, { fh: src }, e, from, ix.chunk);
      } finally {
        await out.fh.close();
        await src.close();
      }
      expect(readFileSync(dest).equals(fresh)).toBe(true);
      // Only the chunks the base lacks are asked for.
      const fresh_ = new Set(e.chunks.filter((_, i) => from[i]! < 0).map(([id]) => id));
      expect(new Set(ix.asked)).toEqual(fresh_);
      expect(readFileSync(basePath).equals(old)).toBe(true);
    }
  });

  it('takes more lanes for a plain copy: each block through its own buffer, the file byte for byte', async () => {
    const dir = tmp('slipway-aligned-');
    const old = noise(9 * 1024 * 1024 + 4321, 6);
    const basePath = path.join(dir, 'old.bin');
    writeFileSync(basePath, old);
    const dest = path.join(dir, 'copy.bin');
    writeFileSync(dest, '');
    const out = await openAligned(dest, basePath, 6);
    if (!out) return;
    expect(out.lanes.length).toBe(6);
    // The lanes in use at once: every one of the six, none twice.
    const inUse = new Set<number>();
    let most = 0;
    const write = out.fh.write.bind(out.fh);
    out.fh.write = (async (buf: Buffer, ...rest: [number, number, number]) => {
      const lane = out.lanes.findIndex((l) => l.buffer === buf.buffer && l.byteOffset === buf.byteOffset);
      expect(inUse.has(lane)).toBe(false);
      inUse.add(lane);
      most = Math.max(most, inUse.size);
      try {
        return await write(buf, ...rest);
      } finally {
        inUse.delete(lane);
      }
    }) as typeof out.fh.write;
    const e = {
      type: 'file' as const,
      path: dest,
      mode: 0o644,
      size: old.length,
      chunks: [['' as ChunkId, old.length]] as [ChunkId, number][],
    };
    const src = await openBase(basePath);
    try {
      await writeAligned(out, src, e, [0], async () => undefined);
    } finally {
      await closeAligned(out);
      await closeBase(src);
    }
    expect(readFileSync(dest).equals(old)).toBe(true);
    expect(most).toBeGreaterThan(3);
  });

  it('is how writeFromBase writes a large file in order: the new chunks come through `chunk`, none into the open file', async () => {
    const P = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
    const old = noise(ALIGNED_MIN + 100_000, 5);
    const fresh = Buffer.concat([
      noise(4096, 6),
      old.subarray(0, 3_000_000),
      noise(5000, 7),
      old.subarray(3_000_000),
    ]);
    const dir = tmp('slipway-aligned-');
    const basePath = path.join(dir, 'old.bin');
    writeFileSync(basePath, old);
    const probe = path.join(dir, 'probe');
    writeFileSync(probe, '');
    const can = await openAligned(probe, basePath);
    await can?.fh.close();
    const base = { path: basePath, chunks: entry(old, P).chunks };
    const e = entry(fresh, P);
    for (const aligned of [undefined, false]) {
      const dest = path.join(dir, `new-${aligned}.bin`);
      const sink = new DirectFile('r1' as never, e, base.chunks);
      const ix = served(fresh, P);
      let open = false;
      const direct = {
        open: (w: (data: Buffer, at: number) => Promise<void>) => {
          open = true;
          sink.open(w);
        },
        close: () => sink.close(),
      };
      expect(await writeFromBase({ e, dest, base, chunk: ix.chunk, direct, aligned })).toBe(true);
      expect(readFileSync(dest).equals(fresh)).toBe(true);
      // With direct I/O nothing may write into the file through the cache beside it.
      expect(open).toBe(!(can && aligned === undefined));
    }
  });

  it('copies a whole file (a base for an edit in place) byte for byte, large or small, never over one', async () => {
    const dir = tmp('slipway-aligned-');
    for (const [n, size] of [ALIGNED_COPY_MIN + 12_345, 3 * 1024 * 1024, 1000].entries()) {
      const src = path.join(dir, `src${n}`);
      const data = noise(size, 20 + n);
      writeFileSync(src, data);
      const dest = path.join(dir, `dest${n}`);
      await copyFileAligned(src, dest);
      expect(readFileSync(dest).equals(data)).toBe(true);
      expect(statSync(dest).size).toBe(size);
      await expect(copyFileAligned(src, dest)).rejects.toThrow(/EEXIST/);
      expect(readFileSync(dest).equals(data)).toBe(true);
    }
  });

  it.skipIf(!nativeAddon()?.copyDirect)(
    "copies on libuv's pool with the addon: plain or moved, aligned or not, read direct or not, never over a file",
    async () => {
      const dir = tmp('slipway-aligned-');
      const size = 3 * 1024 * 1024 + 12_345;
      const data = noise(size, 31);
      const src = path.join(dir, 'src');
      writeFileSync(src, data);
      const cases: [number, number][] = [
        [0, 0],
        [4096, 0],
        [4096 + 65_536, 65_536],
        [1000, 3],
        [5000, 1_234_567],
        [size, size],
      ];
      for (const [k, [at, from]] of cases.entries()) {
        for (const direct of [false, true]) {
          const dest = path.join(dir, `dest${k}-${direct}`);
          const base = await openBase(src);
          try {
            const st = await base.fh.stat();
            // As a base written with direct writes is opened: read direct too.
            if (direct) base.direct = await open(src, 'r');
            expect(await copiedNatively(base, st, src, dest, at, from)).toBe(true);
          } finally {
            await closeBase(base);
          }
          const want = Buffer.concat([data.subarray(0, at), data.subarray(from)]);
          expect(readFileSync(dest).equals(want)).toBe(true);
        }
      }
      const base = await openBase(src);
      try {
        const st = await base.fh.stat();
        await expect(copiedNatively(base, st, src, path.join(dir, 'dest0-false'))).rejects.toThrow(/EEXIST/);
      } finally {
        await closeBase(base);
      }
    },
  );

  it('reads a base it wrote with direct writes direct too (whole blocks), the ragged ends through the cache', async () => {
    const P = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
    const dir = tmp('slipway-aligned-');
    const old = noise(ALIGNED_MIN + 54_321, 30);
    const first = path.join(dir, 'first');
    writeFileSync(first, old);
    const basePath = path.join(dir, 'base');
    await copyFileAligned(first, basePath);
    const b = await openBase(basePath);
    const direct = b.direct !== undefined;
    await closeBase(b);
    const probe = path.join(dir, 'probe');
    writeFileSync(probe, '');
    const can = await openAligned(probe, first);
    await can?.fh.close();
    expect(direct).toBe(can !== undefined);
    const base = { path: basePath, chunks: entry(old, P).chunks };
    // Shifted by a whole block (read direct) and by a ragged 4099 bytes (through the cache).
    for (const head of [4096, 4099, 3 * 4096]) {
      const fresh = Buffer.concat([
        noise(head, head),
        old.subarray(0, 5_000_000),
        noise(777, 31),
        old.subarray(5_000_000),
      ]);
      const e = entry(fresh, P);
      const ix = served(fresh, P);
      const dest = path.join(dir, `new-${head}`);
      expect(await writeFromBase({ e, dest, base, chunk: ix.chunk })).toBe(true);
      expect(readFileSync(dest).equals(fresh)).toBe(true);
    }
    expect(readFileSync(basePath).equals(old)).toBe(true);
  });

  it('says when the kernel refuses a direct write (the caller then writes through the cache)', async () => {
    const dir = tmp('slipway-aligned-');
    const old = noise(3 * 1024 * 1024, 40);
    const basePath = path.join(dir, 'old.bin');
    writeFileSync(basePath, old);
    const dest = path.join(dir, 'new.bin');
    writeFileSync(dest, '');
    const out = await openAligned(dest, basePath);
    if (!out) return;
    // Buffers one byte off their aligned start: every direct write is refused.
    const askew = {
      fh: out.fh,
      lanes: out.lanes.map((b) => Buffer.from(b.buffer, b.byteOffset + 1, b.length - 1)),
    };
    const P = { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 };
    const fresh = Buffer.concat([noise(4096, 41), old.subarray(0, 500_000)]);
    const e = entry(fresh, P);
    const src = await open(basePath, 'r');
    try {
      const failure = await writeAligned(
        askew,
        { fh: src },
        e,
        plan(e, entry(old, P).chunks),
        served(fresh, P).chunk,
      ).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(refused(failure)).toBe(true);
    } finally {
      await out.fh.close();
      await src.close();
    }
  });

  it('keeps the lanes of a file closed for the next one, and makes new ones beside lanes in use', async () => {
    const dir = tmp('slipway-aligned-');
    const basePath = path.join(dir, 'old.bin');
    writeFileSync(basePath, noise(1024 * 1024, 50));
    const open3 = async (n: number) => {
      const dest = path.join(dir, `new${n}.bin`);
      writeFileSync(dest, '');
      return openAligned(dest, basePath);
    };
    const a = await open3(1);
    if (!a) return;
    const b = await open3(2);
    expect(b!.lanes[0]!.buffer).not.toBe(a.lanes[0]!.buffer);
    await closeAligned(a);
    await closeAligned(b!);
    const c = await open3(3);
    expect(c!.lanes[0]!.buffer).toBe(b!.lanes[0]!.buffer);
    expect(c!.lanes[0]!.byteOffset).toBe(b!.lanes[0]!.byteOffset);
    await closeAligned(c!);
  });
});
