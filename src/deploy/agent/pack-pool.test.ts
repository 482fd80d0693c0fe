import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFilesUnder } from '../../../test/helpers/open-files.js';
import { chunkIdOf } from '../fastcdc.js';
import { type PackLoc, PackPool } from './pack-pool.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-pack-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pack pool', () => {
  it('reads back appended chunks, and after a restart keeps only intact records', async () => {
    const pool = new PackPool(dir);
    const chunks = Array.from({ length: 5 }, () => randomBytes(3000));
    const locs = await Promise.all(chunks.map((c) => pool.append(chunkIdOf(c), c)));
    for (const [i, loc] of locs.entries()) expect(await pool.read(loc)).toEqual(chunks[i]);
    expect(pool.size).toBe(5);

    // A crash tore the last record in half.
    const [file] = await readdir(dir);
    const full = (await stat(path.join(dir, file!))).size;
    await truncate(path.join(dir, file!), full - 1500);
    const again = new PackPool(dir);
    const found = new Map<string, PackLoc>();
    await again.load((id, loc) => found.set(id, loc));
    const tornAt = locs.indexOf(locs.reduce((a, b) => (a.offset > b.offset ? a : b)));
    expect(found.size).toBe(4);
    expect(found.has(chunkIdOf(chunks[tornAt]!))).toBe(false);
    for (const [id, loc] of found) expect(chunkIdOf((await again.read(loc))!)).toBe(id);
    await pool.close();
    await again.close();
    expect(openFilesUnder(dir)).toEqual([]);
  });

  it('deletes a pack once every chunk in it is settled into a release', async () => {
    const pool = new PackPool(dir);
    const a = randomBytes(100);
    const b = randomBytes(100);
    const la = await pool.append(chunkIdOf(a), a);
    await pool.append(chunkIdOf(b), b);
    await pool.settled([{ id: chunkIdOf(a), file: la.file }]);
    expect(await readdir(dir)).toHaveLength(1);
    await pool.settled([{ id: chunkIdOf(b), file: la.file }]);
    expect(await readdir(dir)).toHaveLength(0);
    expect(pool.size).toBe(0);
    // The next chunk opens a fresh pack.
    await pool.append(chunkIdOf(a), a);
    expect(await readdir(dir)).toHaveLength(1);
    await pool.close();
    expect(openFilesUnder(dir)).toEqual([]);
  });

  it('leaves no file open when closed, whatever was in flight, and refuses appends after', async () => {
    const pool = new PackPool(dir);
    const a = randomBytes(100_000);
    const la = await pool.append(chunkIdOf(a), a);
    // A reader for the pack and a read in flight; then a pack still being opened.
    expect(await pool.read(la)).toEqual(a);
    const reading = pool.read(la);
    await pool.close();
    expect(await reading).toEqual(a);
    await expect(pool.append(chunkIdOf(a), a)).rejects.toThrow(/closed/);
    // Reads still work, through a handle of their own.
    expect(await pool.read(la)).toEqual(a);
    expect(openFilesUnder(dir)).toEqual([]);

    const other = new PackPool(dir);
    const opening = other.append(chunkIdOf(a), a);
    await other.close();
    await opening.catch(() => {});
    expect(openFilesUnder(dir)).toEqual([]);
  });

  it('closes the reader of a pack whose read failed', async () => {
    const pool = new PackPool(dir);
    const a = randomBytes(100);
    const la = await pool.append(chunkIdOf(a), a);
    expect(await pool.read(la)).toEqual(a);
    expect(openFilesUnder(dir)).toEqual([la.file, la.file]); // the pack written, its reader
    // A location the system refuses to read at: the read fails, the reader is closed.
    expect(await pool.read({ ...la, offset: -2 })).toBeUndefined();
    expect(openFilesUnder(dir)).toEqual([la.file]);
    expect(await pool.read(la)).toEqual(a);
    await pool.close();
    expect(openFilesUnder(dir)).toEqual([]);
  });
});
