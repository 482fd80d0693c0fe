/**
 * A streamed stage's files (stream-files.ts): a file sent in parts written at its chunks' offsets,
 * synced early as it grows (SYNC_STEP), settled and closed once complete.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChunkId } from '../types.js';
import { noteSyncPace, resetDirectPace } from './direct-pace.js';
import { StreamFiles } from './stream-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-stream-files-'));
});
afterEach(async () => {
  resetDirectPace();
  await rm(dir, { recursive: true, force: true });
});

/** `n` chunks of `size` bytes each (distinct), with their ids. */
function chunksOf(n: number, size: number): { id: ChunkId; data: Buffer }[] {
  return Array.from({ length: n }, (_, k) => {
    const data = Buffer.alloc(size, k + 1);
    return { id: createHash('sha256').update(data).digest('hex') as ChunkId, data };
  });
}

describe('StreamFiles', () => {
  it('syncs a file sent in parts as it grows, and settles it whole once its entry came', async () => {
    // The disk measured slow: no direct writes (direct-blocks.ts), the page cache's way.
    noteSyncPace(64 * 1024 * 1024, 1000);
    const KB = 1024;
    // Small chunks written on this thread, large ones through the pool: both count.
    const chunks = [...chunksOf(6, 16 * KB), ...chunksOf(4, 100 * KB)];
    const files = new StreamFiles(dir, '.stream-test', 128 * KB);
    const f = files.opening('big.bin', 0o640);
    const list = chunks.map((c): [ChunkId, number] => [c.id, c.data.length]);
    expect(files.more(f, 0, list.slice(0, 5))).toHaveLength(5);
    for (const c of chunks.slice(0, 5)) await files.place(c.id, c.data);
    const offset = list.slice(0, 5).reduce((n, [, s]) => n + s, 0);
    const size = list.reduce((n, [, s]) => n + s, 0);
    const rest = files.closing(
      f,
      { type: 'file', path: 'big.bin', mode: 0o640, size, chunks: list },
      5,
      offset,
    );
    expect(rest).toHaveLength(list.length - 5);
    for (const c of chunks.slice(5)) await files.place(c.id, c.data);
    await files.synced();
    // 16 KB x 6 + 100 KB x 4 = 496 KB: a sync per 128 KB written (none while one runs).
    expect(files.syncs).toBeGreaterThanOrEqual(1);
    expect(files.syncs).toBeLessThanOrEqual(3);
    expect(files.incomplete()).toBeUndefined();
    expect(Number.isNaN(files.mtimes[f])).toBe(false);
    const written = await readFile(path.join(dir, 'big.bin'));
    expect(written.equals(Buffer.concat(chunks.map((c) => c.data)))).toBe(true);
    expect((await stat(path.join(dir, 'big.bin'))).mode & 0o777).toBe(0o640);
  });

  it('writes a file sent in parts direct: its bytes, in any order, cut to its length', async () => {
    // 3 MiB and a bit in chunks over block boundaries, placed out of order, the last ones
    // before the entry came (then finished aside).
    const sizes = [700_000, 900_001, 300_000, 1_000_003, 250_000, 12_345];
    const chunks = sizes.map((n, k) => {
      const data = Buffer.alloc(n, k + 7);
      data.writeUInt32BE(k, 0);
      return { id: createHash('sha256').update(data).digest('hex') as ChunkId, data };
    });
    const files = new StreamFiles(dir, '.stream-test');
    const f = files.opening('big.bin', 0o640);
    const list = chunks.map((c): [ChunkId, number] => [c.id, c.data.length]);
    expect(files.more(f, 0, list)).toHaveLength(list.length);
    for (const k of [3, 0, 5, 1, 4, 2]) await files.place(chunks[k]!.id, chunks[k]!.data);
    const size = sizes.reduce((a, b) => a + b, 0);
    files.closing(f, { type: 'file', path: 'big.bin', mode: 0o640, size, chunks: list }, list.length, size);
    await files.finished();
    expect(files.syncs).toBe(0);
    expect(files.incomplete()).toBeUndefined();
    expect(Number.isNaN(files.mtimes[f])).toBe(false);
    const written = await readFile(path.join(dir, 'big.bin'));
    expect(written.equals(Buffer.concat(chunks.map((c) => c.data)))).toBe(true);
    expect((await stat(path.join(dir, 'big.bin'))).mode & 0o777).toBe(0o640);
  });

  it('does not sync files smaller than its step', async () => {
    const files = new StreamFiles(dir, '.stream-test');
    const [c] = chunksOf(1, 4096);
    files.file({ type: 'file', path: 'a.txt', mode: 0o644, size: 4096, chunks: [[c!.id, 4096]] });
    await files.place(c!.id, c!.data);
    await files.synced();
    expect(files.syncs).toBe(0);
    expect(files.incomplete()).toBeUndefined();
    expect((await readFile(path.join(dir, 'a.txt'))).equals(c!.data)).toBe(true);
  });

  it('writes a file of one chunk whole: its bytes, its mode, its mtime, and where it lies', async () => {
    const files = new StreamFiles(dir, '.stream-test');
    const [a, b] = chunksOf(2, 3000);
    files.file({ type: 'file', path: 'ro.txt', mode: 0o400, size: 3000, chunks: [[a!.id, 3000]] });
    // A chunk two files share takes the general path: both written, both settled.
    files.file({ type: 'file', path: 'x.txt', mode: 0o644, size: 3000, chunks: [[b!.id, 3000]] });
    files.file({ type: 'file', path: 'y.txt', mode: 0o755, size: 3000, chunks: [[b!.id, 3000]] });
    // Of another length than the manifest's: not placed, still waited for.
    expect(await files.place(a!.id, a!.data.subarray(1))).toBeUndefined();
    expect(files.waits(a!.id)).toBe(true);
    expect(await files.place(a!.id, a!.data)).toEqual({
      release: '.stream-test',
      path: 'ro.txt',
      offset: 0,
      size: 3000,
    });
    expect(files.waits(a!.id)).toBe(false);
    // Nor at two places.
    expect(await files.place(b!.id, b!.data.subarray(1))).toBeUndefined();
    expect(files.waits(b!.id)).toBe(true);
    expect(files.incomplete()?.path).toBe('x.txt');
    expect((await files.place(b!.id, b!.data))?.path).toBe('x.txt');
    expect(files.incomplete()).toBeUndefined();
    for (const [f, p, mode, data] of [
      [0, 'ro.txt', 0o400, a!.data],
      [1, 'x.txt', 0o644, b!.data],
      [2, 'y.txt', 0o755, b!.data],
    ] as const) {
      const st = await stat(path.join(dir, p));
      expect(st.mode & 0o777).toBe(mode);
      expect(files.mtimes[f]).toBe(st.mtimeMs);
      expect((await readFile(path.join(dir, p))).equals(data)).toBe(true);
    }
  });

  it('writes many one-chunk files whole: their bytes, modes and mtimes', async () => {
    const files = new StreamFiles(dir, '.stream-test');
    const n = 200; // chunksOf repeats its bytes from 255 on
    const chunks = chunksOf(n, 700);
    const modes = [0o644, 0o755, 0o600, 0o444];
    for (const [k, c] of chunks.entries())
      files.file({ type: 'file', path: `f${k}`, mode: modes[k % 4]!, size: 700, chunks: [[c.id, 700]] });
    // As the chunk client places them: many at once, each awaited only as a write in flight.
    const placed = await Promise.all(chunks.map((c) => files.place(c.id, c.data)));
    expect(placed.map((l) => l?.path)).toEqual(chunks.map((_, k) => `f${k}`));
    expect(files.incomplete()).toBeUndefined();
    expect(files.unsyncedFiles).toBe(n);
    for (const [k, c] of chunks.entries()) {
      const st = await stat(path.join(dir, `f${k}`));
      expect(st.mode & 0o777).toBe(modes[k % 4]);
      expect(files.mtimes[k]).toBe(st.mtimeMs);
      expect((await readFile(path.join(dir, `f${k}`))).equals(c.data)).toBe(true);
    }
  });

  it('writes every place of chunks listed many times over thousands of files, places reused as they are taken', async () => {
    const files = new StreamFiles(dir, '.stream-test');
    const chunks = chunksOf(40, 100);
    const expected: Buffer[] = [];
    // 1,500 files of three chunks each, a chunk twice in each: 500 listed at a time (1,500 places
    // waiting, more than the first room for them), then every chunk placed (places freed, reused).
    for (let f = 0; f < 1500; f++) {
      const picks = [chunks[f % 40]!, chunks[(f * 7) % 40]!, chunks[f % 40]!];
      expected.push(Buffer.concat(picks.map((c) => c.data)));
      files.file({
        type: 'file',
        path: `f${f}.bin`,
        mode: 0o644,
        size: 300,
        chunks: picks.map((c): [ChunkId, number] => [c.id, 100]),
      });
      if (f % 500 === 499) for (const c of chunks) await files.place(c.id, c.data);
    }
    for (const c of chunks) await files.place(c.id, c.data);
    expect(files.incomplete()).toBeUndefined();
    for (const c of chunks) expect(files.waits(c.id)).toBe(false);
    for (let f = 0; f < 1500; f += 37)
      expect((await readFile(path.join(dir, `f${f}.bin`))).equals(expected[f]!), `f${f}.bin`).toBe(true);
  });

  it('refuses to write a one-chunk file through a symlink or over an existing file', async () => {
    const files = new StreamFiles(dir, '.stream-test');
    const [a, b] = chunksOf(2, 100);
    await writeFile(path.join(dir, 'outside.txt'), 'keep');
    await symlink(path.join(dir, 'outside.txt'), path.join(dir, 'link.txt'));
    await writeFile(path.join(dir, 'there.txt'), 'keep');
    files.file({ type: 'file', path: 'link.txt', mode: 0o644, size: 100, chunks: [[a!.id, 100]] });
    files.file({ type: 'file', path: 'there.txt', mode: 0o644, size: 100, chunks: [[b!.id, 100]] });
    // Thrown here or, made on the pool (whole-file.ts writeWholeLater), rejected.
    const placing = (c: { id: ChunkId; data: Buffer }) =>
      Promise.resolve().then(() => files.place(c.id, c.data));
    await expect(placing(a!)).rejects.toThrow(/EEXIST|ELOOP/);
    await expect(placing(b!)).rejects.toThrow(/EEXIST/);
    expect(await readFile(path.join(dir, 'outside.txt'), 'utf8')).toBe('keep');
    expect(await readFile(path.join(dir, 'there.txt'), 'utf8')).toBe('keep');
  });
});
