/**
 * A streamed stage (stream-stage.ts) whose later part lists a chunk again while that chunk's first
 * write is still under way: nobody waits for it any more (its places went to that write) and the
 * index has not noted it yet. It waits for the transfer bringing it, not "no longer here".
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from '../fastcdc.js';
import { type ManifestEntry, releaseIdOf } from '../manifest.js';
import { ManifestLines } from '../manifest-lines.js';
import type { ChunkId } from '../types.js';
import type { ChunkIndex } from './chunk-index.js';
import { Layout } from './layout.js';
import type { StagedLoc } from './staging-area.js';
import { StreamStaging } from './stream-stage.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-stream-stage-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

type Ensure = Parameters<ChunkIndex['ensure']>[0];

/**
 * An index that has nothing and "fetches" from `bytes`: each chunk is placed through the staging's
 * `place` and noted only once that write is done, as ChunkIndex does; a caller asking for a chunk
 * being written waits for it. `during` runs while the first chunk's write is under way.
 */
function scriptedIndex(bytes: Map<ChunkId, Buffer>, during: () => void) {
  const noted = new Map<ChunkId, Buffer>();
  const writing = new Map<ChunkId, Promise<unknown>>();
  let first = true;
  const index = {
    has: (id: ChunkId) => noted.has(id),
    read: async (id: ChunkId) => noted.get(id),
    async ensure(o: Ensure) {
      for (const id of o.ids) {
        if (noted.has(id)) continue;
        const pending = writing.get(id);
        if (pending) {
          await pending;
          continue;
        }
        const data = bytes.get(id)!;
        const placed = Promise.resolve(o.place?.(id, data) as Promise<StagedLoc | undefined> | StagedLoc);
        writing.set(id, placed);
        if (first) {
          first = false;
          during();
        }
        await placed;
        noted.set(id, data);
        writing.delete(id);
        o.onChunk?.(id, data.length, 'scripted');
      }
      return { ok: true as const };
    },
  };
  return index as unknown as ChunkIndex;
}

describe('a streamed stage', () => {
  it('waits for a chunk listed again while its first write is under way', async () => {
    // Two chunks, each past the size written on the calling thread (its write goes to the pool).
    const a = Buffer.alloc(100 * 1024, 1);
    const b = Buffer.alloc(100 * 1024, 2);
    const idOf = (d: Buffer) => createHash('sha256').update(d).digest('hex') as ChunkId;
    const [ia, ib] = [idOf(a), idOf(b)];
    const bytes = new Map([
      [ia, a],
      [ib, b],
    ]);
    const lines = ManifestLines.start('v1', DEFAULT_CHUNKING);
    if (!lines.ok) throw new Error(lines.error);
    let staging: StreamStaging | undefined;
    // The second part (a again, then b) comes while a's first write is under way.
    const second = () => {
      const p = lines.value.part({
        path: 'big.bin',
        mode: 0o644,
        offset: a.length,
        chunks: [
          [ia, a.length],
          [ib, b.length],
        ],
      });
      if (!p.ok) throw new Error(p.error);
      staging!.part(p.value);
      staging!.pump(true);
    };
    staging = await StreamStaging.open(new Layout(root), {
      index: scriptedIndex(bytes, second),
      lines: lines.value,
      sources: [{ url: 'http://127.0.0.1:9', token: 't' }],
      onProgress: () => {},
    });
    const first = lines.value.part({ path: 'big.bin', mode: 0o644, offset: 0, chunks: [[ia, a.length]] });
    if (!first.ok) throw new Error(first.error);
    staging.part(first.value);
    staging.pump(true);
    const chunks: [ChunkId, number][] = [
      [ia, a.length],
      [ia, a.length],
      [ib, b.length],
    ];
    const entry: ManifestEntry = { type: 'file', path: 'big.bin', mode: 0o644, size: 3 * a.length, chunks };
    // Once the second part is in (the first write's promise runs it).
    while (lines.value.parted?.chunks !== 3) await new Promise((r) => setTimeout(r, 1));
    const added = lines.value.add(entry);
    if (!added.ok) throw new Error(added.error);
    staging.add(added.value);
    const manifest = { format: 1 as const, version: 'v1', chunking: DEFAULT_CHUNKING, entries: [entry] };
    const done = await staging.finish(releaseIdOf(manifest), 1);
    if (!done.ok) throw new Error(done.error);
    const written = await readFile(path.join(staging.dir, 'big.bin'));
    expect(written.equals(Buffer.concat([a, a, b]))).toBe(true);
  });

  it('flushes the filesystem early as its small files are written, though its header listed little', async () => {
    // 8,300 small files, a chunk each: past the first early flush's 8,192 files.
    const idOf = (d: Buffer) => createHash('sha256').update(d).digest('hex') as ChunkId;
    const files = Array.from({ length: 8300 }, (_, i) => Buffer.from(`file ${i}\n`));
    const bytes = new Map(files.map((d) => [idOf(d), d] as const));
    const lines = ManifestLines.start('v1', DEFAULT_CHUNKING);
    if (!lines.ok) throw new Error(lines.error);
    const staging = await StreamStaging.open(new Layout(root), {
      index: scriptedIndex(bytes, () => {}),
      lines: lines.value,
      sources: [{ url: 'http://127.0.0.1:9', token: 't' }],
      onProgress: () => {},
    });
    const entries: ManifestEntry[] = files.map((d, i) => ({
      type: 'file',
      path: `f${i}.bin`,
      mode: 0o644,
      size: d.length,
      chunks: [[idOf(d), d.length]],
    }));
    for (const e of entries) {
      const added = lines.value.add(e);
      if (!added.ok) throw new Error(added.error);
      staging.add(added.value);
    }
    const manifest = { format: 1 as const, version: 'v1', chunking: DEFAULT_CHUNKING, entries };
    const done = await staging.finish(releaseIdOf(manifest), entries.length);
    if (!done.ok) throw new Error(done.error);
    expect(staging.earlyFlushes).toBeGreaterThanOrEqual(1);
  });
});
