/**
 * The origin's chunk reads keep large files open for its lifetime (chunk-reads.ts, LargeFiles):
 * its close must leave no file open, also with a read on its way or one asked after it (a
 * request's read-ahead when the origin closes), which reads through a handle of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openFilesUnder } from '../../test/helpers/open-files.js';
import { LargeFiles } from './chunk-reads.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-chunk-reads-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('large file reads', () => {
  it('leave no file open once closed, whatever was on its way or asked after', async () => {
    const data = randomBytes(2 * LargeFiles.LARGE);
    const file = path.join(dir, 'big.bin');
    await writeFile(file, data);
    const at = (offset: number) => ({ file, offset, size: 64 * 1024 });
    const files = new LargeFiles();
    expect(await files.read(at(LargeFiles.LARGE))).toEqual(
      data.subarray(LargeFiles.LARGE, LargeFiles.LARGE + 65536),
    );
    expect(openFilesUnder(dir)).toEqual([file]); // kept open for the next read
    const onItsWay = files.use(at(LargeFiles.LARGE + 65536), (b) => Buffer.from(b));
    await files.close();
    await onItsWay.catch(() => {});
    expect(openFilesUnder(dir)).toEqual([]);
    // Asked after the close: read, and nothing kept open.
    const late = await files.use(at(LargeFiles.LARGE + 65536), (b) => Buffer.from(b));
    expect(late).toEqual(data.subarray(LargeFiles.LARGE + 65536, LargeFiles.LARGE + 131072));
    expect(openFilesUnder(dir)).toEqual([]);
  });
});
