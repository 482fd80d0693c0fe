import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from '../fastcdc.js';
import type { Manifest } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { FileIndex } from './file-index.js';
import { Layout } from './layout.js';
import { statsFile } from './release-stats.js';

const chunk = (n: number) => n.toString(16).padStart(64, '0') as ChunkId;
const file = (p: string, c: number) => ({
  type: 'file' as const,
  path: p,
  mode: 0o644,
  size: 10,
  chunks: [[chunk(c), 10]] as [ChunkId, number][],
});
const manifest = (version: string, files: ReturnType<typeof file>[]): Manifest => ({
  format: 1,
  version,
  chunking: DEFAULT_CHUNKING,
  entries: files,
});

describe('the file index', () => {
  it('made ahead of the lookups (prime), answers as one made at the first lookup, and again after a rebuild', async () => {
    const layout = new Layout(await mkdtemp(path.join(tmpdir(), 'slipway-file-index-')));
    await mkdir(layout.manifests, { recursive: true });
    const r1 = 'v1-000000000001' as ReleaseId;
    const r2 = 'v2-000000000002' as ReleaseId;
    const m1 = manifest('v1', [file('a', 1), file('b', 2)]);
    const m2 = manifest('v2', [file('a', 1), file('c', 3)]);
    await writeFile(statsFile(layout, r1), JSON.stringify({ a: [10, 1], b: [10, 2] }));
    await writeFile(statsFile(layout, r2), JSON.stringify({ a: [10, 5], c: [10, 3] }));
    const index = new FileIndex(layout);
    const kept = new Map([[r1, m1]]);
    index.rebuild(kept);
    index.prime();
    expect(await index.recorded(file('x/b', 2), kept)).toEqual({
      dir: layout.release(r1),
      rel: 'b',
      size: 10,
      mtimeMs: 2,
    });
    expect(await index.recorded(file('c', 3), kept)).toBeUndefined();
    // Another set of kept releases: primed again, the latest release listing the content answers.
    const both = new Map([
      [r1, m1],
      [r2, m2],
    ]);
    index.rebuild(both);
    index.prime();
    expect(await index.recorded(file('a', 1), both)).toEqual({
      dir: layout.release(r2),
      rel: 'a',
      size: 10,
      mtimeMs: 5,
    });
    expect(await index.recorded(file('c', 3), both)).toEqual({
      dir: layout.release(r2),
      rel: 'c',
      size: 10,
      mtimeMs: 3,
    });
  });
});
