/**
 * Delta bases read from a kept release (chunk-index.ts): a changed chunk that spans two old chunks
 * is asked for as a delta against both, read into one buffer and each verified; a base chunk the
 * app changed in its release is noticed and the chunk still arrives, intact. Real files, a real
 * origin over HTTP.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { noise } from '../../../test/helpers/noise.js';
import { chunkIdOf, DEFAULT_CHUNKING } from '../fastcdc.js';
import type { Manifest } from '../manifest.js';
import { type Origin, startOrigin } from '../origin.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { BaseRange } from './base-trim.js';
import { ChunkIndex } from './chunk-index.js';
import { Layout } from './layout.js';

const TOKEN = 'delta-bases-token-0123456789abcdef';
const cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** A kept release `r1` holding `app.bin` as two chunks, and an origin serving `next` as one chunk. */
async function rig(first: Buffer, second: Buffer, next: Buffer, trim?: BaseRange) {
  const root = await mkdtemp(path.join(os.tmpdir(), 'slipway-delta-bases-'));
  const layout = new Layout(path.join(root, 'agent'));
  const release = 'r1' as ReleaseId;
  await mkdir(layout.release(release), { recursive: true });
  await writeFile(path.join(layout.release(release), 'app.bin'), Buffer.concat([first, second]));
  const ids: [ChunkId, number][] = [
    [chunkIdOf(first), first.length],
    [chunkIdOf(second), second.length],
  ];
  const manifest: Manifest = {
    format: 1,
    version: 'v1',
    chunking: DEFAULT_CHUNKING,
    entries: [
      { type: 'file', path: 'app.bin', mode: 0o644, size: first.length + second.length, chunks: ids },
    ],
  };
  const index = new ChunkIndex(layout);
  await index.load();
  index.addRelease(release, manifest);
  const src = path.join(root, 'next.bin');
  await writeFile(src, next);
  const nextId = chunkIdOf(next);
  const origin: Origin = await startOrigin({
    chunks: new Map([[nextId, { file: src, offset: 0, size: next.length }]]),
    token: TOKEN,
    host: '127.0.0.1',
    port: 0,
  });
  cleanup.push(async () => {
    await index.close();
    await origin.close();
    await rm(root, { recursive: true, force: true });
  });
  const bases = new Map([[nextId, ids.map(([id]) => id)]]);
  /** Fetches `next` through the index; what each chunk's frame weighed on the wire. */
  const fetchNext = async () => {
    const wire: number[] = [];
    const r = await index.ensure({
      ids: [nextId],
      sources: [{ url: origin.url, token: TOKEN }],
      maxChunk: DEFAULT_CHUNKING.max,
      bases,
      trims: trim && new Map([[nextId, trim]]),
      onChunk: (_id, bytes) => wire.push(bytes),
    });
    return { r, wire };
  };
  return { layout, index, nextId, fetchNext };
}

describe('delta bases of two chunks', () => {
  it('asks for a chunk spanning two old ones as a delta against both, and rebuilds it', async () => {
    const first = noise(40_000, 1);
    const second = noise(40_000, 2);
    // The edit: 1 KB new in the middle, where the two old chunks met.
    const next = Buffer.concat([first.subarray(0, 39_500), noise(1000, 3), second.subarray(500)]);
    const { index, nextId, fetchNext } = await rig(first, second, next);
    const { r, wire } = await fetchNext();
    expect(r).toEqual({ ok: true });
    expect((await index.read(nextId))?.equals(next)).toBe(true);
    // A delta against both chunks: the new kilobyte and little more; a delta against either one
    // alone would carry the other's 40 KB.
    expect(wire).toHaveLength(1);
    expect(wire[0]!).toBeLessThan(4_000);
  });

  it('delivers the chunk intact when a base chunk changed in its release', async () => {
    const first = noise(40_000, 4);
    const second = noise(40_000, 5);
    const next = Buffer.concat([first.subarray(0, 39_500), noise(1000, 6), second.subarray(500)]);
    const { layout, index, nextId, fetchNext } = await rig(first, second, next);
    // The app wrote into the second chunk's bytes of its release file.
    const damaged = Buffer.concat([first, second]);
    damaged.fill(0x41, 50_000, 50_100);
    await writeFile(path.join(layout.release('r1' as ReleaseId), 'app.bin'), damaged);
    const { r, wire } = await fetchNext();
    expect(r).toEqual({ ok: true });
    expect((await index.read(nextId))?.equals(next)).toBe(true);
    // A delta against the bytes that are there: the changed block matched nothing, the others did.
    expect(wire).toHaveLength(1);
    expect(wire[0]!).toBeLessThan(4_000);
  });
});

describe('trimmed delta bases', () => {
  // The new chunk: the middle 40 KB of the old two, with 1 KB new in it.
  const parts = () => {
    const first = noise(40_000, 7);
    const second = noise(40_000, 8);
    const old = Buffer.concat([first, second]);
    const next = Buffer.concat([old.subarray(20_000, 39_500), noise(1000, 9), old.subarray(40_500, 60_000)]);
    return { first, second, next };
  };

  it('reads only the range of the two old chunks it is given, and rebuilds the chunk from it', async () => {
    const { first, second, next } = parts();
    const { index, nextId, fetchNext } = await rig(first, second, next, { from: 19_000, to: 61_000 });
    const { r, wire } = await fetchNext();
    expect(r).toEqual({ ok: true });
    expect((await index.read(nextId))?.equals(next)).toBe(true);
    expect(wire).toHaveLength(1);
    expect(wire[0]!).toBeLessThan(4_000);
  });

  it('delivers the chunk intact when the range misses where its bytes were', async () => {
    const { first, second, next } = parts();
    const { index, nextId, fetchNext } = await rig(first, second, next, { from: 0, to: 10_000 });
    const { r } = await fetchNext();
    expect(r).toEqual({ ok: true });
    expect((await index.read(nextId))?.equals(next)).toBe(true);
  });

  it('uses the whole base when the range reaches past it', async () => {
    const { first, second, next } = parts();
    const { index, nextId, fetchNext } = await rig(first, second, next, { from: 19_000, to: 90_000 });
    const { r, wire } = await fetchNext();
    expect(r).toEqual({ ok: true });
    expect((await index.read(nextId))?.equals(next)).toBe(true);
    expect(wire[0]!).toBeLessThan(4_000);
  });
});
