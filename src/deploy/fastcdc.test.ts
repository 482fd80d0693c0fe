import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { noise as bytes } from '../../bench/lib/noise.js';
import { chunkFile } from './chunk-file.js';
import { chunkBuffer, cutPoints, DEFAULT_CHUNKING } from './fastcdc.js';

describe('fastcdc', () => {
  const data = bytes(8 * 1024 * 1024, 42);

  it('finds the same cut points every time (known answer)', () => {
    const cuts = cutPoints(data);
    expect(cutPoints(Buffer.from(data))).toEqual(cuts);
    // Pinned: a change here changes every chunk id ever produced, which breaks reuse on agents.
    expect(cuts.slice(0, 6)).toMatchInlineSnapshot(`
      [
        94380,
        175205,
        250677,
        325946,
        407446,
        473641,
      ]
    `);
    expect(cuts.at(-1)).toBe(data.length);
  });

  it('keeps every chunk within min and max, averaging near avg', () => {
    const { min, avg, max } = DEFAULT_CHUNKING;
    for (const seed of [1, 2, 3]) {
      const buf = bytes(4 * 1024 * 1024, seed);
      const chunks = chunkBuffer(buf);
      chunks.slice(0, -1).forEach((c) => {
        expect(c.size).toBeGreaterThanOrEqual(min);
        expect(c.size).toBeLessThanOrEqual(max);
      });
      expect(chunks.at(-1)!.size).toBeLessThanOrEqual(max);
      const mean = buf.length / chunks.length;
      expect(mean).toBeGreaterThan(avg / 2);
      expect(mean).toBeLessThan(avg * 2);
      expect(chunks.reduce((s, c) => s + c.size, 0)).toBe(buf.length);
    }
  });

  it('cuts at max on data with no content boundaries (all zeros)', () => {
    const cuts = cutPoints(Buffer.alloc(1024 * 1024));
    const sizes = cuts.map((c, i) => c - (cuts[i - 1] ?? 0));
    for (const s of sizes.slice(0, -1)) expect(s).toBeLessThanOrEqual(DEFAULT_CHUNKING.max);
  });

  it('changes only the chunks around bytes inserted near the start', () => {
    const before = chunkBuffer(data);
    const edited = Buffer.concat([
      data.subarray(0, 5000),
      Buffer.from('an insertion of a few bytes'),
      data.subarray(5000),
    ]);
    const after = chunkBuffer(edited);
    const old = new Set(before.map((c) => c.id));
    const fresh = after.filter((c) => !old.has(c.id));
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.length).toBeLessThanOrEqual(2);
    // Everything after the resynchronised boundary is byte-for-byte the same chunk sequence.
    expect(after.slice(fresh.length).map((c) => c.id)).toEqual(
      before.slice(before.length - (after.length - fresh.length)).map((c) => c.id),
    );
    expect(fresh[0]!.offset).toBe(0);
  });

  it('gives the same chunks when streaming a file through a small buffer', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-cdc-'));
    try {
      const file = path.join(dir, 'blob');
      await writeFile(file, data);
      const streamed = await chunkFile(file, DEFAULT_CHUNKING, Buffer.allocUnsafe(DEFAULT_CHUNKING.max * 2));
      expect(streamed.size).toBe(data.length);
      expect(streamed.chunks).toEqual(chunkBuffer(data).map((c) => [c.id, c.size]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('treats inputs shorter than min as one chunk, and empty input as none', () => {
    expect(cutPoints(Buffer.alloc(0))).toEqual([]);
    expect(cutPoints(bytes(1000))).toEqual([1000]);
  });
});
