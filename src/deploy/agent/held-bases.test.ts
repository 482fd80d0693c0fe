/**
 * Delta bases between request and arrival (held-bases.ts): one read from a release file is read
 * again from the file when asked for (the same bytes, or a trimmed range of joined chunks), one
 * not in a file (a pool chunk) is held in memory, and a base whose chunk the index no longer
 * knows cannot be had (its delta is then refused by the decoder and the chunk asked for whole).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChunkId, ReleaseId } from '../types.js';
import { BaseFiles } from './base-files.js';
import type { BaseSource } from './base-reads.js';
import { HeldBases } from './held-bases.js';
import { Layout } from './layout.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function rig() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'slipway-held-bases-'));
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  const layout = new Layout(path.join(root, 'agent'));
  const release = 'r1' as ReleaseId;
  await mkdir(layout.release(release), { recursive: true });
  const a = randomBytes(50_000);
  const b = randomBytes(70_000);
  await writeFile(path.join(layout.release(release), 'app.bin'), Buffer.concat([a, b]));
  const where: BaseSource['where'] extends ReadonlyMap<ChunkId, infer W> ? Map<ChunkId, W> : never =
    new Map();
  where.set('a' as ChunkId, { kind: 'release', release, path: 'app.bin', offset: 0, size: a.length });
  where.set('b' as ChunkId, { kind: 'release', release, path: 'app.bin', offset: a.length, size: b.length });
  where.set('p' as ChunkId, { kind: 'pool', size: 100 });
  const src: BaseSource = {
    layout,
    where,
    recent: { get: () => undefined, has: () => false },
    read: async () => undefined,
  };
  const files = new BaseFiles();
  cleanup.push(async () => files.close());
  return { a, b, where, held: new HeldBases(src, files) };
}

describe('HeldBases', () => {
  it('reads a base from a release file again, whole or a trimmed range of joined chunks', async () => {
    const { a, b, held } = await rig();
    held.hold('n1' as ChunkId, ['a' as ChunkId], undefined, Buffer.from(a));
    const range = { from: 40_000, to: 90_000 };
    const joined = Buffer.concat([a, b]).subarray(range.from, range.to);
    held.hold('n2' as ChunkId, ['a', 'b'] as ChunkId[], range, Buffer.from(joined));
    expect(held.get('n1' as ChunkId)?.equals(a)).toBe(true);
    expect(held.get('n2' as ChunkId)?.equals(joined)).toBe(true);
    // Asked for again (a refused delta): the same bytes.
    expect(held.get('n2' as ChunkId)?.equals(joined)).toBe(true);
    held.drop('n2' as ChunkId);
    expect(held.get('n2' as ChunkId)).toBeUndefined();
  });

  it('holds a base not in a file, and gives none for a chunk the index forgot', async () => {
    const { a, where, held } = await rig();
    const pooled = randomBytes(100);
    held.hold('n1' as ChunkId, ['p' as ChunkId], undefined, pooled);
    held.hold('n2' as ChunkId, ['a' as ChunkId], undefined, Buffer.from(a));
    expect(held.readsAgain).toBe(true);
    where.delete('a' as ChunkId);
    expect(held.get('n1' as ChunkId)).toBe(pooled);
    expect(held.get('n2' as ChunkId)).toBeUndefined();
  });

  it('holds a small base, whose file it then does not need', async () => {
    const { a, held } = await rig();
    const small = Buffer.from(a.subarray(0, 1000));
    held.hold('n1' as ChunkId, ['a' as ChunkId], { from: 0, to: 1000 }, small);
    expect(held.readsAgain).toBe(false);
    expect(held.get('n1' as ChunkId)).toBe(small);
  });
});
