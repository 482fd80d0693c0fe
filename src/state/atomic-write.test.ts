import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeAtomic, writeAtomicSync } from './atomic-write.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-atomic-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('atomic writes', () => {
  it('replaces the file whole', async () => {
    const file = path.join(dir, 'state.json');
    await writeFile(file, 'old');
    await writeAtomic(file, 'new');
    writeAtomicSync(path.join(dir, 'sync.json'), 'also new');
    expect(await readFile(file, 'utf8')).toBe('new');
    expect(await readFile(path.join(dir, 'sync.json'), 'utf8')).toBe('also new');
    expect((await readdir(dir)).sort()).toEqual(['state.json', 'sync.json']);
  });

  it('leaves no temporary file behind when the rename fails', async () => {
    // A folder with something in it where the file should go: the rename over it fails.
    const file = path.join(dir, 'taken');
    await mkdir(file);
    await writeFile(path.join(file, 'inside'), 'x');
    await expect(writeAtomic(file, 'text')).rejects.toThrow();
    expect(() => writeAtomicSync(file, 'text')).toThrow();
    expect(await readdir(dir)).toEqual(['taken']);
  });
});
