/**
 * The origin's chunk reads (chunk-reads.ts): descriptors kept open, the most recently used few,
 * must still read every chunk's own bytes, after an eviction and after a file was replaced, and
 * leave none open once closed, also for a read asked after the close (a request's read-ahead).
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFilesUnder } from '../../test/helpers/open-files.js';
import { tempDirs } from '../../test/helpers/temp-dirs.js';
import { ChunkFiles } from './chunk-reads.js';

const temp = tempDirs();

describe('ChunkFiles', () => {
  it('keeps at most MAX_OPEN files open and reads evicted ones again', async () => {
    const dir = temp('slipway-chunk-reads-');
    const n = ChunkFiles.MAX_OPEN + 6;
    const data = Array.from({ length: n }, () => randomBytes(3000));
    for (const [i, d] of data.entries()) writeFileSync(path.join(dir, `f${i}`), d);
    const files = new ChunkFiles();
    try {
      for (let round = 0; round < 2; round++)
        for (const [i, d] of data.entries()) {
          const src = { file: path.join(dir, `f${i}`), offset: 1000, size: 1500 };
          expect((await files.read(src)).equals(d.subarray(1000, 2500))).toBe(true);
          // Lent bytes: the same as long as `use` runs.
          expect(await files.use(src, (b) => b.equals(d.subarray(1000, 2500)))).toBe(true);
          expect(files.openFiles).toBeLessThanOrEqual(ChunkFiles.MAX_OPEN);
        }
    } finally {
      await files.close();
    }
    expect(files.openFiles).toBe(0);
  });

  it('fails a chunk its file no longer holds, and reads the file anew after that', async () => {
    const dir = temp('slipway-chunk-reads-');
    const file = path.join(dir, 'a.bin');
    const first = randomBytes(10_000);
    writeFileSync(file, first);
    const files = new ChunkFiles();
    try {
      expect((await files.read({ file, offset: 0, size: 10_000 })).equals(first)).toBe(true);
      // Replaced meanwhile by a shorter file: a chunk past either end fails, and the next read
      // opens the file anew instead of reading the old one through the kept descriptor.
      const second = randomBytes(4000);
      writeFileSync(`${file}.new`, second);
      renameSync(`${file}.new`, file);
      await expect(files.read({ file, offset: 9000, size: 4000 })).rejects.toThrow(/changed while deploying/);
      expect((await files.read({ file, offset: 0, size: 4000 })).equals(second)).toBe(true);
    } finally {
      await files.close();
    }
  });

  it('leaves no file open once closed, also for a read asked after the close', async () => {
    const dir = temp('slipway-chunk-reads-');
    const data = randomBytes(256 * 1024);
    const file = path.join(dir, 'big.bin');
    writeFileSync(file, data);
    const at = (offset: number) => ({ file, offset, size: 64 * 1024 });
    const files = new ChunkFiles();
    expect((await files.read(at(65536))).equals(data.subarray(65536, 131072))).toBe(true);
    expect(openFilesUnder(dir)).toEqual([file]); // kept open for the next read
    await files.close();
    expect(openFilesUnder(dir)).toEqual([]);
    // Asked after the close: read, and nothing kept open.
    const late = await files.use(at(131072), (b) => Buffer.from(b));
    expect(late.equals(data.subarray(131072, 196608))).toBe(true);
    expect(openFilesUnder(dir)).toEqual([]);
  });
});
