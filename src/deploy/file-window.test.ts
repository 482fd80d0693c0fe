import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noise } from '../../bench/lib/noise.js';
import { mulberry32 } from '../analyze/random.js';
import { FileWindow } from './file-window.js';

describe('FileWindow', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-window-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The bytes a chunker sees consuming `data` from `from` in random steps of at most `keep`. */
  async function consume(data: Buffer, from: number, size: number, keep: number, seed: number) {
    const file = path.join(dir, `f${seed}`);
    await writeFile(file, data);
    const fh = await open(file, 'r');
    const w = new FileWindow(fh, Buffer.alloc(size), from, keep);
    const rnd = mulberry32(seed);
    const seen: Buffer[] = [];
    try {
      for (;;) {
        if (!w.eof && w.end - w.start < keep) await w.fill();
        if (w.start >= w.end) break;
        // A chunker works on at least `keep` bytes unless the file has ended.
        if (!w.eof) expect(w.end - w.start).toBeGreaterThanOrEqual(keep);
        const n = Math.min(w.end - w.start, 1 + Math.floor(rnd() * keep));
        seen.push(Buffer.from(w.buffer.subarray(w.start, w.start + n)));
        w.start += n;
        expect(w.offset).toBe(from + seen.reduce((s, b) => s + b.length, 0));
      }
    } finally {
      await w.settle();
      await fh.close();
    }
    return Buffer.concat(seen);
  }

  it('gives every byte once, in order, with reads ahead and without', async () => {
    const keep = 1000;
    let seed = 1;
    // Buffers with room for the pad and three regions (reads ahead) and without (4 * keep - 3).
    for (const size of [4 * keep, 4 * keep + 7, 10 * keep, 2 * keep, 4 * keep - 3]) {
      const third = Math.floor((size - keep) / 3);
      // File sizes at region multiples (the end found by a read of nothing), and around them.
      for (const len of [0, 1, keep, third, 3 * third, 3 * third + 1, 6 * third - 1, 50_000]) {
        for (const from of [0, 1, 777]) {
          const data = noise(len, seed);
          const got = await consume(data, from, size, keep, seed++);
          expect(got.equals(data.subarray(Math.min(from, len))), `size ${size} len ${len} from ${from}`).toBe(
            true,
          );
        }
      }
    }
  });
});
