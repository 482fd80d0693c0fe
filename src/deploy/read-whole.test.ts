import { closeSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openToRead, readWhole } from './chunk-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-read-whole-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readWhole (the walk reading a small file into its scratch buffer)', () => {
  const bytes = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

  it('reads a file of the size listed whole, and an empty one', async () => {
    const scratch = Buffer.alloc(64 * 1024);
    for (const n of [0, 1, 2048, 64 * 1024 - 1]) {
      const file = path.join(dir, `f${n}`);
      await writeFile(file, bytes(n, n));
      expect(readWhole(file, scratch, n)).toEqual(bytes(n, n));
    }
  });

  it('reads to its end a file that grew or shrank since it was listed', async () => {
    const scratch = Buffer.alloc(64 * 1024);
    const file = path.join(dir, 'changed');
    await writeFile(file, bytes(3000, 7));
    expect(readWhole(file, scratch, 2048)).toEqual(bytes(3000, 7));
    expect(readWhole(file, scratch, 4096)).toEqual(bytes(3000, 7));
  });

  it('gives up on a file that fills the buffer (read as it is elsewhere)', async () => {
    const scratch = Buffer.alloc(1024);
    const file = path.join(dir, 'large');
    await writeFile(file, bytes(1024, 3));
    expect(readWhole(file, scratch, 1024)).toBeUndefined();
    await writeFile(file, bytes(5000, 3));
    expect(readWhole(file, scratch, 1000)).toBeUndefined();
  });

  it("never reads through a symlink put in a file's place", async () => {
    const scratch = Buffer.alloc(1024);
    await writeFile(path.join(dir, 'secret'), 'secret');
    const link = path.join(dir, 'listed');
    await symlink(path.join(dir, 'secret'), link);
    expect(() => readWhole(link, scratch, 6)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(() => openToRead(link)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
  });

  it('reads from a descriptor open on the file, from its start, and leaves it open', async () => {
    const scratch = Buffer.alloc(64 * 1024);
    const file = path.join(dir, 'open');
    await writeFile(file, bytes(3000, 5));
    const fd = openToRead(file);
    try {
      expect(readWhole(fd, scratch, 3000)).toEqual(bytes(3000, 5));
      expect(readWhole(fd, scratch, 3000)).toEqual(bytes(3000, 5));
    } finally {
      closeSync(fd);
    }
  });
});
