/**
 * Trimmed delta bases (base-trim.ts): each changed chunk of an edited file, asked for as a delta
 * against only the range of its old chunks the two chunk lists point at, rebuilds exactly after
 * edits in place, insertions, deletions and a shift of the whole file; the trimmed bases are about
 * the new chunks' size, and their deltas no larger than against the whole bases.
 */
import { describe, expect, it } from 'vitest';
import { noise } from '../../../bench/lib/noise.js';
import { type Chunk, chunkBuffer, DEFAULT_CHUNKING } from '../fastcdc.js';
import type { Manifest } from '../manifest.js';
import { chunkBases } from '../manifest-delta.js';
import type { ChunkId } from '../types.js';
import { deltaBlock, deltaRequest, encodeDelta, MIN_DELTA_BASE } from '../wire-delta.js';
import { decodeDelta } from '../wire-delta-decode.js';
import { type BaseRange, TRIM_MARGIN, trimBases } from './base-trim.js';

const KB = 1024;

function manifestOf(chunks: Chunk[], size: number): Manifest {
  return {
    format: 1,
    version: 'v',
    chunking: DEFAULT_CHUNKING,
    entries: [{ type: 'file', path: 'f', mode: 0o644, size, chunks: chunks.map((c) => [c.id, c.size]) }],
  };
}

/** Half text, half noise: bytes that compress and bytes that do not, like the deploy bench's file. */
function file(size: number): Buffer {
  const words = ['deploy', 'chunk', 'release', 'agent', 'origin', 'delta', 'base', 'block'];
  const pick = noise(size, 5);
  let text = '';
  for (let i = 0; text.length < size / 2; i++) text += `${words[pick[i]! & 7]}${pick[i]! >> 3} `;
  return Buffer.concat([Buffer.from(text.slice(0, size / 2)), noise(size - size / 2, 7)]);
}

/** Each changed chunk of `next` as a delta against its base, whole and trimmed. */
function deltas(old: Buffer, next: Buffer) {
  const a = chunkBuffer(old);
  const b = chunkBuffer(next);
  const ma = manifestOf(a, old.length);
  const mb = manifestOf(b, next.length);
  const hints = chunkBases(ma, mb, MIN_DELTA_BASE);
  const trims = new Map<ChunkId, BaseRange | null>();
  const chunks = (m: Manifest) => (m.entries[0] as { chunks: [ChunkId, number][] }).chunks;
  trimBases(chunks(mb), chunks(ma), hints, trims);
  const oldAt = new Map(a.map((c) => [c.id, c]));
  const out: {
    rebuilt: boolean;
    whole: number;
    trimmed: number;
    base: number;
    wholeBase: number;
    size: number;
  }[] = [];
  for (const c of b) {
    const ids = hints[c.id];
    if (!ids) continue;
    const data = next.subarray(c.offset, c.offset + c.size);
    const start = oldAt.get(ids[0]!)!.offset;
    const whole = old.subarray(start, start + ids.reduce((n, x) => n + oldAt.get(x)!.size, 0));
    const t = trims.get(c.id);
    const base = t ? whole.subarray(t.from, t.to) : whole;
    const payload = encodeDelta(data, deltaRequest(c.id, ids, base));
    const wholePayload = encodeDelta(data, deltaRequest(c.id, ids, whole));
    const rebuilt =
      payload !== undefined &&
      decodeDelta(payload, base, DEFAULT_CHUNKING.max, deltaBlock(base.length)).equals(data);
    out.push({
      rebuilt,
      whole: wholePayload?.length ?? c.size,
      trimmed: payload?.length ?? c.size,
      base: base.length,
      wholeBase: whole.length,
      size: c.size,
    });
  }
  return out;
}

function expectTrimmed(old: Buffer, next: Buffer): void {
  const ds = deltas(old, next);
  expect(ds.length).toBeGreaterThan(0);
  for (const d of ds) expect(d.rebuilt).toBe(true);
  const sum = (f: (d: (typeof ds)[number]) => number) => ds.reduce((n, d) => n + f(d), 0);
  // The bases checksummed: the new chunks' bytes and the margins, not every old chunk they overlap.
  expect(sum((d) => d.base)).toBeLessThanOrEqual(sum((d) => d.size + 2 * TRIM_MARGIN));
  expect(sum((d) => d.base)).toBeLessThan(sum((d) => d.wholeBase));
  // As good a delta (finer blocks over less: a few bytes either way per chunk).
  expect(sum((d) => d.trimmed)).toBeLessThanOrEqual(sum((d) => d.whole) + 64 * ds.length);
}

describe('trimmed delta bases', () => {
  const old = file(3 * 1024 * KB);

  it("rebuild every chunk after edits in place (20 KB each, as the bench's 1% of 200 MB)", () => {
    const next = Buffer.from(old);
    for (let k = 0; k < 12; k++) noise(20 * KB, 100 + k).copy(next, 100 * KB + k * 230 * KB);
    expectTrimmed(old, next);
  });

  it('rebuild every chunk after insertions and deletions inside the file', () => {
    const parts: Buffer[] = [];
    let at = 0;
    for (let k = 0; k < 10; k++) {
      const cut = 150 * KB + k * 280 * KB;
      parts.push(old.subarray(at, cut));
      // Odd edits delete 3 KB, even ones insert 5 KB; one in three inserts then deletes nearby.
      if (k % 2 === 0) parts.push(noise(5 * KB, 200 + k));
      at = k % 2 === 1 ? cut + 3 * KB : cut;
      if (k % 3 === 0) {
        parts.push(old.subarray(at, at + 8 * KB));
        at += 8 * KB + 2 * KB;
      }
    }
    parts.push(old.subarray(at));
    expectTrimmed(old, Buffer.concat(parts));
  });

  it('rebuild the first chunk after 4 KB inserted at the start (the old bytes shifted)', () => {
    const next = Buffer.concat([noise(4 * KB, 300), old]);
    const ds = deltas(old, next);
    expect(ds.length).toBeGreaterThan(0);
    for (const d of ds) {
      expect(d.rebuilt).toBe(true);
      // All but the 4 KB new bytes and a block or two at the ends matched.
      expect(d.trimmed).toBeLessThan(6 * KB);
    }
  });
});

describe('trimBases', () => {
  const id = (n: number) => n.toString(16).padStart(64, '0') as ChunkId;

  it('keeps the new chunk range widened by the shifts around it and the margin', () => {
    // Old: 1, 2, 3, 4 (each 100 KB); new: 1, N (120 KB: 20 KB inserted into 2), 3, 4.
    const old: [ChunkId, number][] = [1, 2, 3, 4].map((n) => [id(n), 100 * KB]);
    const next: [ChunkId, number][] = [old[0]!, [id(9), 120 * KB], old[2]!, old[3]!];
    // The deployer's base for N: the old chunks overlapping [100 KB, 220 KB): 2 and 3.
    const out = new Map<ChunkId, BaseRange | null>();
    trimBases(next, old, { [id(9)]: [id(2), id(3)] }, out, 1000);
    // Shift 0 before N, 20 KB after it: N's bytes were within [100 KB, 200 KB) of the old file,
    // the base's [0, 100 KB) and the margin.
    expect(out.get(id(9))).toEqual({ from: 0, to: 100 * KB + 1000 });
  });

  it('uses the whole base for a chunk found twice, or a base that is not a run of the old list', () => {
    const old: [ChunkId, number][] = [1, 2, 3, 4, 5].map((n) => [id(n), 100 * KB]);
    const next: [ChunkId, number][] = [old[0]!, [id(9), 50 * KB], old[2]!, [id(9), 50 * KB], old[4]!];
    const out = new Map<ChunkId, BaseRange | null>();
    trimBases(next, old, { [id(9)]: [id(2), id(3)] }, out);
    expect(out.get(id(9))).toBeNull();
    const alone = new Map<ChunkId, BaseRange | null>();
    trimBases([old[0]!, [id(9), 50 * KB]], old.slice(0, 3), { [id(9)]: [id(3), id(2)] }, alone);
    expect(alone.get(id(9))).toBeNull();
  });
});
