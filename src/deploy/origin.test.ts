/**
 * The origin's frame buffers go back to a pool once written (frame-pool.ts): one still queued
 * at a slow asker's socket must not carry a later frame meanwhile.
 *
 * The origin reads every chunk into one reused buffer (chunk-reads.ts, ChunkFiles.use):
 * many requests at once, each reading ahead, in every encoding, must still get every chunk's own
 * bytes (a receiver checks each chunk's SHA-256, so a chunk read over by another fails there).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact } from './artifact.js';
import { fetchChunks } from './chunk-client.js';
import { type ChunkingParams, chunkIdOf } from './fastcdc.js';
import { startOrigin } from './origin.js';
import type { ChunkId } from './types.js';
import type { Codec, Encoding } from './wire.js';
import { decodeFrames } from './wire-decode.js';
import { loadZstd } from './zstd.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-origin-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Text and noise in turns of `block` bytes: chunks that compress and chunks that go raw. */
function mixed(size: number, block: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed;
  for (let o = 0; o < size; o++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[o] = Math.floor(o / block) % 2 === 0 ? 97 + ((x >>> 16) % 8) : x >>> 24;
  }
  return out;
}

const encodings: [Encoding, Codec[]][] = [
  ['br-fast', loadZstd() ? ['zstd'] : []],
  ['br', []],
  ['deflate', []],
  ['none', []],
];

describe('origin', () => {
  // Pinned raw: a bulk transfer's (br-fast) frames read straight into the batch (rawFrameInto).
  it.each(['auto', 'none'] as const)(
    'serves every chunk of large files to concurrent askers, in every encoding (compression %s)',
    async (compression) => {
      // Chunks up to 1 MiB, past the reused buffer's first size, so its growth is exercised.
      const params: ChunkingParams = { min: 16 * 1024, avg: 128 * 1024, max: 1024 * 1024 };
      const files = { 'a.bin': mixed(5_000_000, 300_000, 1), 'b.bin': mixed(3_000_000, 70_000, 2) };
      for (const [name, data] of Object.entries(files)) await writeFile(path.join(dir, name), data);
      const art = await readArtifact(dir, 'v1', params);
      expect(art.ok).toBe(true);
      if (!art.ok) return;
      const { chunks, manifest } = art.value;
      expect(Math.max(...[...chunks.values()].map((c) => c.size))).toBeGreaterThan(256 * 1024);
      const origin = await startOrigin({
        chunks,
        token: 'origin-test-token-0123456789',
        cacheBytes: 0,
        compression,
      });
      try {
        const ids = [...chunks.keys()];
        const asks = encodings.flatMap(([encoding, codecs], k) => {
          // Each asker in its own order, so their reads interleave differently.
          const order = k % 2 ? [...ids].reverse() : ids;
          const got = new Map<ChunkId, Buffer>();
          const done = fetchChunks({
            source: origin,
            ids: order,
            maxChunk: params.max,
            encoding,
            codecs,
            // Lent until onChunk returns (its buffer carries a later chunk then): kept as a copy.
            onChunk: (id, data) => {
              got.set(id, Buffer.from(data));
            },
          });
          return [{ got, done }];
        });
        for (const ask of asks) expect((await ask.done).ok).toBe(true);
        for (const e of manifest.entries) {
          if (e.type !== 'file') continue;
          const want = files[e.path as keyof typeof files];
          const parts = e.chunks.map(([id]) => asks.map((a) => a.got.get(id)));
          for (const [k] of encodings.entries())
            expect(Buffer.concat(parts.map((p) => p[k]!)).equals(want)).toBe(true);
        }
        if (compression === 'none') expect([...origin.levels.keys()]).toEqual(['none']);
      } finally {
        await origin.close();
      }
    },
  );

  it.each([
    // Noise with an average chunk size near the maximum: most frames (raw) of one size, each
    // written on its own, so a buffer given back early would carry the next frame.
    ['large frames', { min: 16 * 1024, avg: 255 * 1024, max: 256 * 1024 }, 0],
    // Small chunks of text and noise: frames copied into shared write buffers (origin.ts BATCH),
    // a few large ones between them written on their own, in order.
    ['small frames, batched', { min: 4 * 1024, avg: 16 * 1024, max: 256 * 1024 }, 20_000],
  ] as const)('does not reuse a frame still queued for a slow asker (%s)', async (_, params, block) => {
    const data = block ? textAndNoise(12 * 1024 * 1024, block) : randomBytes(12 * 1024 * 1024);
    await writeFile(path.join(dir, 'noise.bin'), data);
    const art = await readArtifact(dir, 'v1', params);
    expect(art.ok).toBe(true);
    if (!art.ok) return;
    const origin = await startOrigin({
      chunks: art.value.chunks,
      token: 'origin-test-token-0123456789',
      cacheBytes: 0,
    });
    try {
      const ids = art.value.manifest.entries.flatMap((e) =>
        e.type === 'file' ? e.chunks.map(([id]) => id) : [],
      );
      const body = await new Promise<Buffer>((resolve, reject) => {
        const req = request(
          new URL('/v1/chunks/fetch', origin.url),
          {
            method: 'POST',
            headers: { authorization: `Bearer ${origin.token}`, 'content-type': 'application/json' },
          },
          (res) => {
            const parts: Buffer[] = [];
            // Not read for a while: the origin's writes queue up behind a full socket.
            res.pause();
            setTimeout(() => res.resume(), 500);
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve(Buffer.concat(parts)));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ ids, encoding: block ? 'br-fast' : 'none', codecs: ['zstd'] }));
      });
      const got: Buffer[] = [];
      for await (const c of decodeFrames(once(body), params.max)) got.push(c.data);
      expect(Buffer.concat(got).equals(data)).toBe(true);
    } finally {
      await origin.close();
    }
  });
});

/** Random letters (compressible, never repeating) and random bytes in turns of `block` bytes. */
function textAndNoise(size: number, block: number): Buffer {
  const out = randomBytes(size);
  for (let o = 0; o < size; o += 2 * block)
    for (let i = o; i < Math.min(size, o + block); i++) out[i] = 97 + (out[i]! & 7);
  return out;
}

/** One buffer as a stream of one piece. */
async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

describe('chunk client', () => {
  it('lends each chunk to onChunk until the promise it returned settles', async () => {
    // Compressible chunks (decompressed into reused buffers) and raw ones (views of the stream).
    const params: ChunkingParams = { min: 4 * 1024, avg: 16 * 1024, max: 256 * 1024 };
    await writeFile(path.join(dir, 'mixed.bin'), textAndNoise(6 * 1024 * 1024, 20_000));
    const art = await readArtifact(dir, 'v1', params);
    expect(art.ok).toBe(true);
    if (!art.ok) return;
    const origin = await startOrigin({ chunks: art.value.chunks, token: 'origin-test-token-0123456789' });
    try {
      const ids = [...art.value.chunks.keys()];
      let checked = 0;
      const r = await fetchChunks({
        source: origin,
        ids,
        maxChunk: params.max,
        encoding: 'br-fast',
        // Stored a while later, as a write through the thread pool is: the bytes must still be
        // the chunk's own then, whatever arrived meanwhile.
        onChunk: async (id, data) => {
          await new Promise((resolve) => setTimeout(resolve, checked % 7));
          expect(chunkIdOf(data)).toBe(id);
          checked++;
        },
      });
      expect(r.ok).toBe(true);
      expect(checked).toBe(ids.length);
    } finally {
      await origin.close();
    }
  });
  it('says a chunk that could not be stored failed here, with what to do about a full disk', async () => {
    const params: ChunkingParams = { min: 4 * 1024, avg: 16 * 1024, max: 256 * 1024 };
    await writeFile(path.join(dir, 'mixed.bin'), textAndNoise(2 * 1024 * 1024, 20_000));
    const art = await readArtifact(dir, 'v1', params);
    expect(art.ok).toBe(true);
    if (!art.ok) return;
    const origin = await startOrigin({ chunks: art.value.chunks, token: 'origin-test-token-0123456789' });
    try {
      const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      for (const onChunk of [
        async () => Promise.reject(full),
        () => {
          throw full;
        },
      ]) {
        const r = await fetchChunks({
          source: origin,
          ids: [...art.value.chunks.keys()],
          maxChunk: params.max,
          encoding: 'br-fast',
          onChunk,
        });
        expect(r.ok).toBe(false);
        if (r.ok) continue;
        expect(r.error).toEqual({
          where: 'store',
          message:
            `storing chunks from ${origin.url} failed: ENOSPC: no space left on device, write ` +
            '(the disk is full there: free some space, then deploy again)',
        });
      }
    } finally {
      await origin.close();
    }
  });
});

describe('origin, asker gone', () => {
  it('stops answering a fetch whose asker went away with frames still to send', async () => {
    // Noise: raw frames of about 256 KiB, far more than a socket buffer holds.
    const params: ChunkingParams = { min: 16 * 1024, avg: 255 * 1024, max: 256 * 1024 };
    await writeFile(path.join(dir, 'noise.bin'), randomBytes(16 * 1024 * 1024));
    const art = await readArtifact(dir, 'v1', params);
    expect(art.ok).toBe(true);
    if (!art.ok) return;
    const origin = await startOrigin({ chunks: art.value.chunks, token: 'origin-test-token-0123456789' });
    try {
      const ids = [...art.value.chunks.keys()];
      await new Promise<void>((resolve, reject) => {
        const req = request(
          new URL('/v1/chunks/fetch', origin.url),
          {
            method: 'POST',
            headers: { authorization: `Bearer ${origin.token}`, 'content-type': 'application/json' },
          },
          (res) => {
            // Read one piece, then hang up without reading the rest.
            res.once('data', () => {
              req.destroy();
              resolve();
            });
          },
        );
        req.on('error', () => {});
        req.on('close', resolve);
        req.end(JSON.stringify({ ids, encoding: 'none' }));
        setTimeout(() => reject(new Error('no answer from the origin')), 60_000).unref();
      });
      expect(origin.requests).toBe(1);
      // The origin's handler notices at its next frame and ends; before, it waited for a drain
      // that never came, for as long as the process lived.
      const deadline = Date.now() + 60_000;
      while (origin.serving > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(origin.serving).toBe(0);
    } finally {
      await origin.close();
    }
  });
});
