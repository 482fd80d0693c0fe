import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { chunkIdOf } from './fastcdc.js';
import type { ChunkId } from './types.js';
import { deltaFrame, encodeFrame } from './wire.js';
import { decodeFrames, FrameDecodeError } from './wire-decode.js';
import { bestDelta, deltaRequest, encodeDelta, encodeZstdDelta } from './wire-delta.js';
import { loadZstd } from './zstd.js';

const zstd = loadZstd();

async function* once(buf: Buffer) {
  yield buf;
}

async function decode(frame: Buffer, max = 1 << 20, base?: Buffer) {
  const out = [];
  for await (const f of decodeFrames(once(frame), max, () => base)) out.push(f);
  return out;
}

/** Seeded incompressible bytes: SHA-256 in counter mode. */
function seededNoise(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n + 32);
  for (let i = 0; i < n; i += 32) createHash('sha256').update(`${seed}:${i}`).digest().copy(out, i);
  return out.subarray(0, n);
}

/** Seeded text that compresses about like minified source. */
function text(n: number, seed: number): Buffer {
  const words = ['const', 'let', 'return', 'function', 'value', 'deploy', '=>', '{', '}', ';', 'null', '42'];
  let x = seed;
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = words[x % words.length]! + (x & 0x100 ? ' ' : `${x % 97} `);
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

describe('zstd on the wire', () => {
  it('loads the optional addon here, and SLIPWAY_ZSTD=0 turns it off (Brotli then, no failure)', async () => {
    expect(zstd?.version).toMatch(/^\d+\.\d+\.\d+$/);
    vi.resetModules();
    vi.stubEnv('SLIPWAY_ZSTD', '0');
    try {
      const fresh = await import('./zstd.js');
      const wire = await import('./wire.js');
      expect(fresh.loadZstd()).toBeUndefined();
      expect(wire.localCodecs()).toEqual([]);
      // Asked for zstd anyway, a sender without it sends Brotli.
      const data = text(20_000, 3);
      expect((await wire.encodeFrame(chunkIdOf(data), data, 'br', ['zstd']))[32]).toBe(2);
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });

  it.runIf(zstd)('sends zstd frames only to a receiver that lists zstd, and they round-trip', async () => {
    const data = text(60_000, 1);
    const id = chunkIdOf(data);
    const z = await encodeFrame(id, data, 'br', ['zstd']);
    const br = await encodeFrame(id, data, 'br');
    expect([z[32], br[32]]).toEqual([4, 2]);
    expect(z.length).toBeLessThan(data.length / 2);
    expect((await decode(z))[0]!.data).toEqual(data);
    const fast = await encodeFrame(id, data, 'br-fast', ['zstd']);
    expect((await decode(fast))[0]!.data).toEqual(data);
    // Incompressible bytes still travel raw; a deflate request stays deflate.
    const noise = seededNoise(40_000, 101);
    expect((await encodeFrame(chunkIdOf(noise), noise, 'br', ['zstd']))[32]).toBe(0);
    expect((await encodeFrame(id, data, 'deflate', ['zstd']))[32]).toBe(1);
  });

  it.runIf(zstd)('caps a zstd frame at the chunk limit (no zip bombs)', async () => {
    const zeros = Buffer.alloc(1 << 20);
    const frame = await encodeFrame(chunkIdOf(zeros), zeros, 'br', ['zstd']);
    expect(frame.length).toBeLessThan(1024);
    await expect(decode(frame, 64 * 1024)).rejects.toThrow(/limit/);
  });
});

describe.runIf(zstd)('zstd chunk deltas (the matched base blocks as the dictionary)', () => {
  const base = text(64 * 1024, 7);
  // An edit: 2 KB replaced in the middle and 100 bytes inserted near the start.
  const next = Buffer.concat([
    base.subarray(0, 5000),
    text(100, 8),
    base.subarray(5000, 30_000),
    text(2048, 9),
    base.subarray(32_048),
  ]);
  const id = chunkIdOf(next);
  const req = deltaRequest(id, [chunkIdOf(base)], base);

  it('rebuilds the chunk byte for byte from the base the receiver has, in a fraction of its bytes', async () => {
    const payload = encodeZstdDelta(next, req, zstd!, 9);
    expect(payload).toBeDefined();
    const frame = deltaFrame(id, payload!, 'zstd');
    const got = await decode(frame, 1 << 20, base);
    expect(got[0]!.data.equals(next)).toBe(true);
    expect(got[0]!.wireBytes).toBe(frame.length);
    const whole = await encodeFrame(id, next, 'br', ['zstd']);
    expect(frame.length * 5).toBeLessThan(whole.length);
    // The origin sends this one to a receiver that decodes zstd (no copy-and-literals delta is
    // made beside it any more): within a few percent of that one's size.
    const best = bestDelta(next, req, { codec: zstd!, level: 9 })!;
    expect(best.kind).toBe('zstd');
    expect(best.payload.length).toBeLessThanOrEqual(encodeDelta(next, req)!.length * 1.05);
    expect((await decode(deltaFrame(id, best.payload, best.kind), 1 << 20, base))[0]!.data).toEqual(next);
  });

  it('refuses a corrupted delta, a delta against other bytes and one reaching past its base', async () => {
    const payload = encodeZstdDelta(next, req, zstd!, 9)!;
    const flipped = Buffer.from(payload);
    flipped[flipped.length - 20]! ^= 0xff;
    await expect(decode(deltaFrame(id, flipped, 'zstd'), 1 << 20, base)).rejects.toThrow(FrameDecodeError);
    // The receiver's base differs inside a matched block (a checksum collision, or a lie):
    // never wrong bytes, the chunk is refused by its SHA-256 or by zstd itself.
    const otherBase = Buffer.from(base);
    otherBase.fill(0x41, 40_000, 40_100);
    await expect(decode(deltaFrame(id, payload, 'zstd'), 1 << 20, otherBase)).rejects.toThrow(
      FrameDecodeError,
    );
    const far = Buffer.from(payload);
    far.writeUInt32BE(1_000_000, 4);
    await expect(decode(deltaFrame(id, far, 'zstd'), 1 << 20, base)).rejects.toThrow(
      /past its base|malformed/,
    );
    // A delta for a chunk the receiver did not ask for as one.
    await expect(decode(deltaFrame(id, payload, 'zstd'), 1 << 20, undefined)).rejects.toThrow(/not asked/);
  });

  it('rebuilds chunks whose matched blocks are moved, reordered, repeated and cut apart', async () => {
    const block = req.block;
    const piece = (from: number, blocks: number) => base.subarray(from * block, (from + blocks) * block);
    // Runs of the base in another order, with new bytes between and a run repeated: the blocks
    // of the dictionary are contiguous in the chunk in places and apart in others.
    for (const [k, next2] of [
      Buffer.concat([piece(20, 6), seededNoise(300, 1), piece(2, 9), piece(11, 3), piece(40, 4)]),
      Buffer.concat([piece(5, 3), piece(5, 3), text(1000, 2), piece(30, 10), piece(8, 2), piece(29, 1)]),
      Buffer.concat([seededNoise(17, 3), piece(0, 1), piece(2, 1), piece(1, 1), piece(3, 12)]),
    ].entries()) {
      const id2 = chunkIdOf(next2);
      const payload = encodeZstdDelta(next2, deltaRequest(id2, [chunkIdOf(base)], base), zstd!, 3);
      expect(payload, `case ${k}`).toBeDefined();
      const got = await decode(deltaFrame(id2, payload!, 'zstd'), 1 << 20, base);
      expect(got[0]!.data.equals(next2), `case ${k}`).toBe(true);
    }
  });

  it('sends nothing as a delta when no block of the base matches', () => {
    const unrelated = seededNoise(64 * 1024, 102);
    expect(
      encodeZstdDelta(unrelated, deltaRequest(chunkIdOf(unrelated), [id], base), zstd!, 6),
    ).toBeUndefined();
  });
});

describe.runIf(zstd)('delta kind and zstd level by what did not match', () => {
  // A chunk of text and noise with a 25 KB patch; the receiver has the chunk from before it.
  const base = Buffer.concat([text(32 * 1024, 11), seededNoise(32 * 1024, 103)]);
  const patched = (patch: Buffer) =>
    Buffer.concat([base.subarray(0, 20_000), patch, base.subarray(20_000 + patch.length)]);

  it('stores random unmatched bytes as they are, compresses few at the noise level and more at the full one', async () => {
    const noisy = patched(seededNoise(25_000, 104));
    const req = deltaRequest(chunkIdOf(noisy), [chunkIdOf(base)], base);
    const best = bestDelta(noisy, req, { codec: zstd!, level: 19, noiseLevel: 1 })!;
    // Copies and the noise in stored deflate blocks: no zstd pass over the chunk, about the
    // noise's bytes (and the blocks it cut) on the wire, for any receiver.
    expect(best.kind).toBe('delta');
    expect(best.sure).toBe(true);
    expect(best.payload.length).toBeLessThan(25_000 + 3 * req.block);
    expect(best.payload.length).toBeLessThanOrEqual(encodeZstdDelta(noisy, req, zstd!, 19)!.length * 1.02);
    const got = await decode(deltaFrame(chunkIdOf(noisy), best.payload, best.kind), 1 << 20, base);
    expect(got[0]!.data.equals(noisy)).toBe(true);
    expect(bestDelta(noisy, req)!.payload.equals(best.payload)).toBe(true);

    const edited = patched(text(25_000, 12));
    const textReq = deltaRequest(chunkIdOf(edited), [chunkIdOf(base)], base);
    // Levels far enough apart that their frames differ, or the test could not tell them apart.
    const textDeep = encodeZstdDelta(edited, textReq, zstd!, 19)!;
    expect(textDeep.equals(encodeZstdDelta(edited, textReq, zstd!, 1)!)).toBe(false);
    const textBest = bestDelta(edited, textReq, { codec: zstd!, level: 19, noiseLevel: 1 })!;
    expect(textBest.kind).toBe('zstd');
    expect(textBest.payload.equals(textDeep)).toBe(true);
    expect(bestDelta(edited, textReq, { codec: zstd!, level: 19 })!.payload.equals(textDeep)).toBe(true);

    // A small edit in a large chunk: few unmatched bytes, the noise level whatever they are.
    const small = patched(text(1_000, 13));
    const smallReq = deltaRequest(chunkIdOf(small), [chunkIdOf(base)], base);
    const smallBest = bestDelta(small, smallReq, { codec: zstd!, level: 19, noiseLevel: 1 })!;
    expect(smallBest.payload.equals(encodeZstdDelta(small, smallReq, zstd!, 1)!)).toBe(true);
  });

  it('rebuilds noise of more than one stored block, and refuses a stored block whose length lies', async () => {
    // 100 KB of noise between two matched stretches: literals in two stored blocks.
    const big = Buffer.concat([text(48 * 1024, 14), seededNoise(48 * 1024, 105)]);
    const next = Buffer.concat([big.subarray(0, 20_000), seededNoise(100_000, 106), big.subarray(20_000)]);
    const req = deltaRequest(chunkIdOf(next), [chunkIdOf(big)], big);
    const best = bestDelta(next, req, { codec: zstd!, level: 9, noiseLevel: 3 })!;
    expect(best.kind).toBe('delta');
    const got = await decode(deltaFrame(chunkIdOf(next), best.payload, best.kind), 1 << 20, big);
    expect(got[0]!.data.equals(next)).toBe(true);
    // The first stored block's length complement flipped: inflate then reads the stream, and
    // refuses it.
    const lit = 4 + best.payload.readUInt32BE(0);
    const bad = Buffer.from(best.payload);
    bad[lit + 3]! ^= 0x01;
    await expect(decode(deltaFrame(chunkIdOf(next), bad, 'delta'), 1 << 20, big)).rejects.toThrow(
      FrameDecodeError,
    );
  });
});

describe('block checksums', () => {
  it('tell apart a block whose weak (rsync) checksum equals the base block it replaced', async () => {
    // Seeded: with 8 strong bits a block, one random base in 256 would have the edit collide.
    const base = seededNoise(64 * 1024, 1);
    const block = deltaRequest(chunkIdOf(base), [chunkIdOf(base)], base).block;
    // +1, -2, +1 on three neighbouring bytes keeps both sums of the weak checksum (a and b): only
    // the strong checksum can see that block 10 changed.
    const next = Buffer.from(base);
    const at = 10 * block + 100;
    next[at] = 100;
    next[at + 1] = 100;
    next[at + 2] = 100;
    base[at] = 99;
    base[at + 1] = 102;
    base[at + 2] = 99;
    const req = deltaRequest(chunkIdOf(base), [chunkIdOf(base)], base);
    const sums = Buffer.from(req.sums, 'base64');
    const nextSums = Buffer.from(deltaRequest(chunkIdOf(next), [chunkIdOf(next)], next).sums, 'base64');
    expect(nextSums.readUIntBE(10 * 4, 3)).toBe(sums.readUIntBE(10 * 4, 3));
    expect(nextSums[10 * 4 + 3]).not.toBe(sums[10 * 4 + 3]);
    // So the delta carries the changed block, and the chunk comes out as sent.
    const payload = encodeDelta(next, req)!;
    expect(payload.length).toBeLessThan(4 * block);
    const got = await decode(deltaFrame(chunkIdOf(next), payload), 1 << 20, base);
    expect(got[0]!.data.equals(next)).toBe(true);
  });
  it('are 4 bytes a block, blocks about sqrt(3 x size) under 64 KiB, never coarser than 1/64', () => {
    for (const [size, block] of [
      [25_000, 274],
      [60_000, 425],
      [64 * 1024, 1024],
      [100_000, 1563],
      [4096, 128],
      [10_000, 157],
    ] as const) {
      const base = seededNoise(size, size);
      const req = deltaRequest(chunkIdOf(base), [chunkIdOf(base)], base);
      expect(req.block).toBe(block);
      expect(Buffer.from(req.sums, 'base64').length).toBe(Math.floor(size / block) * 4);
    }
  });
  it('let a receiver pass over a delta that does not rebuild its chunk and read on', async () => {
    // A delta made against one base, decoded against another with the same length (what a
    // checksum collision amounts to): refused by SHA-256, handed to the caller, the next frame read.
    const base = text(25_000, 3);
    const next = Buffer.concat([base.subarray(0, 9000), text(2000, 4), base.subarray(11_000)]);
    const other = Buffer.from(base);
    other.fill(65, 0, 9000);
    const delta = deltaFrame(
      chunkIdOf(next),
      encodeDelta(next, deltaRequest(chunkIdOf(next), [chunkIdOf(base)], base))!,
    );
    const whole = await encodeFrame(chunkIdOf(other), other, 'br');
    const refused: ChunkId[] = [];
    const bases = new Map([[chunkIdOf(next), other]]);
    const got = [];
    for await (const f of decodeFrames(
      once(Buffer.concat([delta, whole])),
      1 << 20,
      (id) => bases.get(id),
      (id) => refused.push(id),
    ))
      got.push(f.id);
    expect(refused).toEqual([chunkIdOf(next)]);
    expect(got).toEqual([chunkIdOf(other)]);
    // Without the callback it fails the stream, as before.
    await expect(async () => {
      for await (const _ of decodeFrames(once(delta), 1 << 20, (id) => bases.get(id)));
    }).rejects.toThrow(/SHA-256|decompress/);
  });
  it('find a base block at any offset whatever the block size, odd ones included', async () => {
    // 129-byte blocks (8,256 / 64): the rolling search's strong checksum must agree with the one
    // the agent took over the same bytes, or nothing would ever match.
    const base = seededNoise(64 * 129, 2);
    const req = deltaRequest(chunkIdOf(base), [chunkIdOf(base)], base);
    expect(req.block).toBe(129);
    const next = Buffer.concat([
      seededNoise(7, 105),
      base.subarray(0, 4000),
      seededNoise(50, 106),
      base.subarray(4000),
    ]);
    const payload = encodeDelta(next, req)!;
    expect(payload).toBeDefined();
    expect(payload.length).toBeLessThan(1024);
    const got = await decode(deltaFrame(chunkIdOf(next), payload), 1 << 20, base);
    expect(got[0]!.data.equals(next)).toBe(true);
  });

  it.skipIf(!zstd)(
    'rebuild chunks whose base blocks moved, repeat and swap places; the head lists each matched block once, in order',
    async () => {
      const base = seededNoise(64 * 1024, 3);
      const req = deltaRequest(chunkIdOf(base), [chunkIdOf(base)], base);
      const block = req.block;
      const cases = [
        // The second half first, then the first: runs out of order in the chunk.
        Buffer.concat([base.subarray(32 * 1024), base.subarray(0, 32 * 1024)]),
        // One stretch twice, and a block's worth of new bytes between.
        Buffer.concat([
          base.subarray(0, 20_000),
          text(block, 107),
          base.subarray(0, 20_000),
          base.subarray(40_000),
        ]),
        // New bytes up to the very end, matches only at the start (text: noise would travel stored).
        Buffer.concat([base.subarray(0, 3 * block), text(10_000, 108)]),
        // A match ending exactly at the end, after new bytes.
        Buffer.concat([text(5_000, 109), base.subarray(base.length - 5 * block)]),
      ];
      for (const next of cases) {
        const best = bestDelta(next, req, { codec: zstd!, level: 9, noiseLevel: 3 })!;
        expect(best.kind).toBe('zstd');
        const runs = best.payload.readUInt32BE(0);
        let after = -1;
        for (let j = 0; j < runs; j++) {
          const first = best.payload.readUInt32BE(4 + j * 8);
          const count = best.payload.readUInt32BE(8 + j * 8);
          // Ascending and apart: two runs that touch would have been one.
          expect(first).toBeGreaterThan(after);
          expect(count).toBeGreaterThan(0);
          after = first + count;
        }
        const got = await decode(deltaFrame(chunkIdOf(next), best.payload, 'zstd'), 1 << 20, base);
        expect(got[0]!.data.equals(next)).toBe(true);
      }
    },
  );
});
