import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noise } from '../../../test/helpers/noise.js';
import { tempDirs } from '../../../test/helpers/temp-dirs.js';
import { chunkBuffer } from '../fastcdc.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import { DirectFile } from './direct-file.js';
import { writeFromBase } from './file-from-base.js';

const P = { min: 256, avg: 1024, max: 4096 };

function entry(rel: string, data: Buffer): Extract<ManifestEntry, { type: 'file' }> {
  const chunks = chunkBuffer(data, P).map((c) => [c.id, c.size] as [ChunkId, number]);
  return { type: 'file', path: rel, mode: 0o644, size: data.length, chunks };
}

/** The chunk index of the test: serves only the chunks of `fresh`, counting what it served. */
function index(fresh: Buffer) {
  const byId = new Map(chunkBuffer(fresh, P).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]));
  const served: ChunkId[] = [];
  return {
    served,
    chunk: async (id: ChunkId) => {
      served.push(id);
      const b = byId.get(id);
      if (!b) throw new Error('not in the index');
      return Buffer.from(b);
    },
  };
}

const tmp = tempDirs();

function setup(old: Buffer) {
  const dir = tmp('slipway-base-');
  const basePath = path.join(dir, 'old.bin');
  writeFileSync(basePath, old);
  return { dir, basePath, base: { path: basePath, chunks: entry('old.bin', old).chunks } };
}

describe('writing a changed file from its earlier version', () => {
  it('rebuilds an edit in place byte for byte, asking the index only for the changed chunks', async () => {
    const old = noise(200_000, 1);
    const fresh = Buffer.from(old);
    noise(300, 2).copy(fresh, 100_000);
    const { dir, basePath, base } = setup(old);
    const before = statSync(basePath);
    const e = entry('new.bin', fresh);
    const ix = index(fresh);
    const dest = path.join(dir, 'new.bin');
    expect(await writeFromBase({ e, dest, base, chunk: ix.chunk })).toBe(true);
    expect(readFileSync(dest).equals(fresh)).toBe(true);
    expect(ix.served.length).toBeGreaterThan(0);
    expect(ix.served.length).toBeLessThan(e.chunks.length / 4);
    // The earlier version is never written (it may be hard-linked into other releases).
    expect(readFileSync(basePath).equals(old)).toBe(true);
    expect(statSync(basePath).mtimeMs).toBe(before.mtimeMs);
  });

  it('flushed while it is copied, says when its writing began and still rebuilds byte for byte', async () => {
    // Large enough that the copy may still run when the flush loop first looks.
    const old = noise(8 * 1024 * 1024, 3);
    const fresh = Buffer.from(old);
    noise(300, 4).copy(fresh, 4_000_000);
    const { dir, basePath, base } = setup(old);
    const e = entry('new.bin', fresh);
    const ix = index(fresh);
    const dest = path.join(dir, 'new.bin');
    let started = 0;
    const writing = writeFromBase({ e, dest, base, chunk: ix.chunk, flush: true, onStart: () => started++ });
    // Said at once, before the copy is done: the transfer's base reads wait on it.
    expect(started).toBe(1);
    expect(await writing).toBe(true);
    expect(started).toBe(1);
    expect(readFileSync(dest).equals(fresh)).toBe(true);
    expect(readFileSync(basePath).equals(old)).toBe(true);
  });

  it('takes the chunks that arrive once it is open straight into the file, and asks only for the others', async () => {
    const old = noise(200_000, 5);
    const fresh = Buffer.from(old);
    for (const at of [20_000, 100_000, 180_000]) noise(300, 6).copy(fresh, at);
    for (const inPlace of [true, false]) {
      const { dir, base } = setup(old);
      // Bytes inserted at the start: written in order.
      const next = inPlace ? fresh : Buffer.concat([noise(4096, 7), fresh]);
      const e = entry('new.bin', next);
      const ix = index(next);
      const dest = path.join(dir, 'new.bin');
      const sink = new DirectFile('r1' as never, e, base.chunks);
      const changed = e.chunks.filter(([id]) => !base.chunks.some(([b]) => b === id)).map(([id]) => id);
      expect(changed.length).toBeGreaterThan(2);
      // The first changed chunk arrives before the file is open (for the index), the others after.
      expect(await sink.place(changed[0]!, await ix.chunk(changed[0]!))).toBeUndefined();
      ix.served.length = 0;
      let opened!: () => void;
      const open = new Promise<void>((r) => {
        opened = r;
      });
      const direct = {
        open: (w: (data: Buffer, at: number) => Promise<void>) => {
          sink.open(w);
          opened();
        },
        close: () => sink.close(),
      };
      const placing = open.then(async () => {
        for (const id of changed.slice(1)) {
          const loc = await sink.place(id, await ix.chunk(id));
          expect(loc?.path).toBe('new.bin');
        }
      });
      const chunk = async (id: ChunkId) => {
        await placing;
        return sink.has(id) ? undefined : ix.chunk(id);
      };
      ix.served.length = 0;
      expect(await writeFromBase({ e, dest, base, chunk, direct })).toBe(true);
      expect(readFileSync(dest).equals(next)).toBe(true);
      expect(new Set(ix.served)).toEqual(new Set(changed));
      expect([...sink.written].sort()).toEqual(changed.slice(1).sort());
    }
  });

  it('rebuilds a file with bytes inserted at the start and one that shrank', async () => {
    const old = noise(150_000, 8);
    for (const fresh of [Buffer.concat([noise(4096, 9), old]), old.subarray(0, 90_000)]) {
      const { dir, base } = setup(old);
      const e = entry('new.bin', fresh);
      const ix = index(fresh);
      const dest = path.join(dir, 'new.bin');
      expect(await writeFromBase({ e, dest, base, chunk: ix.chunk })).toBe(true);
      expect(readFileSync(dest).equals(fresh)).toBe(true);
      expect(ix.served.length).toBeLessThan(e.chunks.length / 4);
    }
  });

  it('writes the bytes after a changed chunk from the base while that chunk is still on its way', async () => {
    // 4 KB inserted at the start: the file is written in order from the base, its first chunk new.
    const old = noise(150_000, 10);
    const fresh = Buffer.concat([noise(4096, 11), old]);
    const { dir, base } = setup(old);
    const e = entry('new.bin', fresh);
    const ix = index(fresh);
    const dest = path.join(dir, 'new.bin');
    const tail = fresh.subarray(fresh.length - 1000);
    // The new chunk arrives only once the file's last bytes (from the base) are in place, or when a
    // generous deadline passed: a writer that waited for it first would find them absent.
    let tailFirst = false;
    const end = Date.now() + 10_000;
    const late = async (id: ChunkId) => {
      while (Date.now() < end) {
        const now = existsSync(dest) ? readFileSync(dest) : Buffer.alloc(0);
        if (now.length === fresh.length && now.subarray(now.length - 1000).equals(tail)) {
          tailFirst = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      return ix.chunk(id);
    };
    expect(await writeFromBase({ e, dest, base, chunk: late })).toBe(true);
    expect(tailFirst).toBe(true);
    expect(readFileSync(dest).equals(fresh)).toBe(true);
  });

  it('writes nothing when the earlier version shares no chunk, and refuses a chunk of the wrong length', async () => {
    const { dir, base } = setup(noise(50_000, 12));
    const fresh = noise(50_000, 13);
    const ix = index(fresh);
    const dest = path.join(dir, 'new.bin');
    expect(await writeFromBase({ e: entry('new.bin', fresh), dest, base, chunk: ix.chunk })).toBe(false);
    expect(() => statSync(dest)).toThrow();

    const old = noise(50_000, 14);
    const s = setup(old);
    const edited = Buffer.concat([old.subarray(0, 40_000), noise(10_000, 15)]);
    const short = async () => Buffer.alloc(3);
    await expect(
      writeFromBase({
        e: entry('x.bin', edited),
        dest: path.join(s.dir, 'x.bin'),
        base: s.base,
        chunk: short,
      }),
    ).rejects.toThrow(/manifest says/);
  });
});
