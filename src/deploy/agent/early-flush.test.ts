/**
 * Early flushes of a streamed stage (early-flush.ts forStream): begun as its small files are
 * written (counted in files), one at a time, and a last one once all are written.
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
  it('begin once 4,096 files are written, one at a time, and the last follows the running one', async () => {
    const f = EarlyFlush.forStream(dir);
    f.wrote(4095);
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
    f.wrote(4000);
    f.last();
    expect(f.started).toBe(0);
  });
});
