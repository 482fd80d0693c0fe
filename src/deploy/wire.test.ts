import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkIdOf } from './fastcdc.js';
import { encodeFrame } from './wire.js';
import { decodeFrameBatches, decodeFrames, FrameDecodeError } from './wire-decode.js';

async function* pieces(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/** As `pieces`, each in a buffer of its own (reads into separate buffers). */
async function* ownPieces(buf: Buffer, size: number) {
  for (let i = 0; i < buf.length; i += size) {
    const piece = buf.subarray(i, i + size);
    // Not Buffer.from: small ones are cut one after the other from a shared slab.
    const own = Buffer.allocUnsafeSlow(piece.length);
    piece.copy(own);
    yield own;
  }
}

async function collect(buf: Buffer, max = 1 << 20, size = 7) {
  const out = [];
  for await (const f of decodeFrames(pieces(buf, size), max)) out.push(f);
  return out;
}

describe('chunk frames', () => {
  it('round-trips compressible and random chunks in any encoding, split at any byte', async () => {
    const text = Buffer.from('hello slipway '.repeat(2000));
    const noise = randomBytes(5000);
    for (const enc of ['deflate', 'br', 'br-fast', 'none'] as const) {
      const stream = Buffer.concat([
        await encodeFrame(chunkIdOf(text), text, enc),
        await encodeFrame(chunkIdOf(noise), noise, enc),
      ]);
      const frames = await collect(stream);
      expect(frames.map((f) => f.data)).toEqual([text, noise]);
      if (enc !== 'none') expect(frames[0]!.wireBytes).toBeLessThan(text.length / 10);
      // Incompressible data travels raw rather than growing.
      expect(frames[1]!.wireBytes).toBeLessThanOrEqual(noise.length + 37);
    }
  });

  it('decodes frames from pieces of any size, frames inside one piece or across several', async () => {
    const chunks = [randomBytes(3000), Buffer.from('abc '.repeat(900)), randomBytes(10), randomBytes(70_000)];
    const stream = Buffer.concat(await Promise.all(chunks.map((c) => encodeFrame(chunkIdOf(c), c, 'none'))));
    for (const size of [1, 36, 37, 38, 1000, 3047, 65_536, stream.length]) {
      const frames = await collect(stream, 1 << 20, size);
      expect(frames.map((f) => f.data)).toEqual(chunks);
    }
    // A raw chunk inside one piece is a view of it, not a copy (a keeper copies: chunk-index.ts).
    const whole = await collect(stream, 1 << 20, stream.length);
    expect(whole.every((f) => f.data.buffer === stream.buffer)).toBe(true);
  });

  it('joins frames that straddle pieces in lent buffers, taken back once a chunk is decoded out of one', async () => {
    const text = Buffer.from('lent buffers '.repeat(3000));
    const noise = randomBytes(20_000);
    const stream = Buffer.concat([
      await encodeFrame(chunkIdOf(text), text, 'deflate'),
      await encodeFrame(chunkIdOf(noise), noise, 'none'),
    ]);
    const lent = new Set<ArrayBufferLike>();
    const given: Buffer[] = [];
    const buffers = {
      take: (n: number) => {
        const b = Buffer.allocUnsafeSlow(n);
        lent.add(b.buffer);
        return b;
      },
      give: (b: Buffer) => given.push(b),
      hold: () => {},
    };
    const frames = [];
    for await (const f of decodeFrames(ownPieces(stream, 64), 1 << 20, undefined, undefined, buffers))
      frames.push(f);
    expect(frames.map((f) => f.data)).toEqual([text, noise]);
    // The deflated frame was joined, inflated and given back; the raw one is the chunk itself,
    // lent to the caller (who gives it back when done). The stream's pieces, each read to its
    // end, were offered back too (a pool ignores those not its own).
    const joined = given.filter((b) => lent.has(b.buffer));
    expect(joined).toHaveLength(1);
    expect(joined[0]!.buffer).not.toBe(frames[1]!.data.buffer);
    expect(given.length).toBeGreaterThan(stream.length / 64 - 2);
    expect(lent.has(frames[1]!.data.buffer)).toBe(true);
  });

  it('reads frames across pieces that lie one after the other in one buffer in place, and lends raw chunks held', async () => {
    const text = Buffer.from('slab pieces '.repeat(3000));
    const noise = randomBytes(20_000);
    const stream = Buffer.concat([
      await encodeFrame(chunkIdOf(text), text, 'deflate'),
      await encodeFrame(chunkIdOf(noise), noise, 'none'),
    ]);
    let taken = 0;
    const held: Buffer[] = [];
    const buffers = {
      take: (n: number) => {
        taken++;
        return Buffer.allocUnsafeSlow(n);
      },
      give: () => {},
      hold: (b: Buffer) => held.push(b),
    };
    const frames = [];
    // Views of one buffer, as a socket's reads into one slab (body-stream.ts).
    for await (const f of decodeFrames(pieces(stream, 64), 1 << 20, undefined, undefined, buffers))
      frames.push(f);
    expect(frames.map((f) => f.data)).toEqual([text, noise]);
    // Nothing joined: the raw chunk is a view of the stream itself, held for the caller.
    expect(taken).toBe(0);
    expect(frames[1]!.data.buffer).toBe(stream.buffer);
    expect(held).toEqual([frames[1]!.data]);
  });

  it('rejects a chunk whose bytes do not match its id, oversize frames and truncation', async () => {
    const data = Buffer.from('x'.repeat(100));
    const wrong = await encodeFrame(chunkIdOf(Buffer.from('other')), data);
    await expect(collect(wrong)).rejects.toThrow(FrameDecodeError);
    const big = randomBytes(2000);
    await expect(collect(await encodeFrame(chunkIdOf(big), big, 'none'), 100)).rejects.toThrow(/limit/);
    const whole = await encodeFrame(chunkIdOf(data), data);
    await expect(collect(whole.subarray(0, whole.length - 3))).rejects.toThrow(/ended in the middle/);
  });

  it('yields the frames of each piece together, never an empty batch, and those before a bad frame first', async () => {
    const chunks = Array.from({ length: 6 }, (_, i) => Buffer.from(`small file ${i} `.repeat(20)));
    const frames = await Promise.all(chunks.map((c) => encodeFrame(chunkIdOf(c), c, 'deflate')));
    // Pieces: frames 0-2 whole, then 3 and half of 4, then the rest of 4 and 5.
    const cut = frames[0]!.length + frames[1]!.length + frames[2]!.length;
    const mid = cut + frames[3]!.length + Math.floor(frames[4]!.length / 2);
    const stream = Buffer.concat(frames);
    async function* three() {
      yield stream.subarray(0, cut);
      yield stream.subarray(cut, mid);
      yield stream.subarray(mid);
    }
    const batches: Buffer[][] = [];
    for await (const b of decodeFrameBatches(three(), 1 << 20)) batches.push(b.map((f) => f.data));
    expect(batches).toEqual([chunks.slice(0, 3), chunks.slice(3, 4), chunks.slice(4)]);
    // A piece of header bytes only: nothing to yield for it.
    async function* headerFirst() {
      yield stream.subarray(0, 10);
      yield stream.subarray(10);
    }
    const sizes: number[] = [];
    for await (const b of decodeFrameBatches(headerFirst(), 1 << 20)) sizes.push(b.length);
    expect(sizes).toEqual([6]);
    // A corrupt third frame: the two before it are yielded, then the stream fails.
    const bad = await encodeFrame(chunkIdOf(Buffer.from('other')), chunks[2]!, 'deflate');
    async function* one() {
      yield Buffer.concat([frames[0]!, frames[1]!, bad, frames[3]!]);
    }
    const before: Buffer[] = [];
    await expect(
      (async () => {
        for await (const b of decodeFrameBatches(one(), 1 << 20)) before.push(...b.map((f) => f.data));
      })(),
    ).rejects.toThrow(FrameDecodeError);
    expect(before).toEqual(chunks.slice(0, 2));
  });

  it('caps decompression at the chunk limit (no zip bombs)', async () => {
    const zeros = Buffer.alloc(1 << 20);
    const frame = await encodeFrame(chunkIdOf(zeros), zeros, 'deflate');
    await expect(collect(frame, 64 * 1024)).rejects.toThrow(/decompress|limit/);
  });
});
