/**
 * Early flushes of a streamed stage (early-flush.ts forStream): begun as its small files are
 * written (counted in files), one at a time, and a last one once all are written. And of a large
 * transfer (forTransfer): one at half its bytes, and a last one once all are written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EarlyFlush } from './early-flush.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-early-flush-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function settled(f: EarlyFlush): Promise<void> {
  while (f.running) await new Promise((r) => setTimeout(r, 5));
}

describe('early flushes of a streamed stage', () => {
  it('begin once 8,192 files are written, one at a time, and the last follows the running one', async () => {
    const f = EarlyFlush.forStream(dir);
    f.wrote(8191);
    expect(f.started).toBe(0);
    f.wrote(1);
    expect(f.started).toBe(1);
    // While one runs, none more begins, however much is written.
    f.wrote(10_000);
    expect(f.started).toBe(1);
    // Everything written: the last one waits for the running one, then begins.
    f.last();
    expect(f.started).toBe(1);
    while (f.started < 2) await new Promise((r) => setTimeout(r, 5));
    await settled(f);
    // Nothing written since: no other.
    f.last();
    expect(f.started).toBe(2);
  });

  it('starts none for a stage of fewer files, not even a last one', async () => {
    const f = EarlyFlush.forStream(dir);
    f.wrote(8000);
    f.last();
    expect(f.started).toBe(0);
  });
});

describe('early flushes of a large transfer', () => {
  const MB = 1024 * 1024;

  it('begin once at half the bytes, and a last one follows once every chunk is written', async () => {
    const f = EarlyFlush.forTransfer(dir, 50 * MB, 50 * MB)!;
    f.wrote(24 * MB);
    expect(f.started).toBe(0);
    f.wrote(1 * MB);
    expect(f.started).toBe(1);
    await settled(f);
    // No second one while the chunks still come, however many.
    f.wrote(25 * MB);
    expect(f.started).toBe(1);
    f.last();
    expect(f.started).toBe(2);
    await settled(f);
    // One last only.
    f.wrote(10 * MB);
    f.last();
    expect(f.started).toBe(2);
  });

  it('starts no last one when little was written since the one at half, nor before one began', async () => {
    const f = EarlyFlush.forTransfer(dir, 50 * MB, 50 * MB)!;
    f.wrote(10 * MB);
    f.last();
    expect(f.started).toBe(0);
    f.wrote(15 * MB);
    expect(f.started).toBe(1);
    await settled(f);
    f.wrote(3 * MB);
    f.last();
    expect(f.started).toBe(1);
    // None at all for a small transfer, or one mostly here already.
    expect(EarlyFlush.forTransfer(dir, 8 * MB, 8 * MB)).toBeUndefined();
    expect(EarlyFlush.forTransfer(dir, 20 * MB, 100 * MB)).toBeUndefined();
  });
});
