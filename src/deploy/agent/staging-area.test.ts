import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNKING } from '../fastcdc.js';
import { type Manifest, manifestJson, releaseIdOf } from '../manifest.js';
import type { ChunkId } from '../types.js';
import { assembleRelease } from './assembly.js';
import { Layout } from './layout.js';
import { StagingArea } from './staging-area.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex') as ChunkId;

/** A manifest of `n` one-chunk files in two folders, and its chunks. */
function sample(n: number): { manifest: Manifest; chunks: Map<ChunkId, Buffer> } {
  const chunks = new Map<ChunkId, Buffer>();
  const files: Manifest['entries'] = [];
  for (let i = 0; i < n; i++) {
    const data = Buffer.from(`file ${i} `.repeat(50));
    const id = sha(data);
    chunks.set(id, data);
    files.push({
      type: 'file',
      path: `d${i % 2}/f${String(i).padStart(4, '0')}.txt`,
      mode: 0o644,
      size: data.length,
      chunks: [[id, data.length]],
    });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const entries: Manifest['entries'] = [
    { type: 'dir', path: 'd0', mode: 0o755 },
    ...files.filter((e) => e.path.startsWith('d0/')),
    { type: 'dir', path: 'd1', mode: 0o755 },
    ...files.filter((e) => e.path.startsWith('d1/')),
  ];
  return { manifest: { format: 1, version: 'v1', chunking: DEFAULT_CHUNKING, entries }, chunks };
}

async function freshLayout(): Promise<Layout> {
  const layout = new Layout(await mkdtemp(path.join(tmpdir(), 'slipway-staging-area-')));
  await mkdir(layout.releases, { recursive: true });
  await mkdir(layout.manifests, { recursive: true });
  return layout;
}

describe('a staging folder', () => {
  it('writes its manifest beside it, as the canonical JSON the release id hashes, found again on reopen', async () => {
    const layout = await freshLayout();
    const { manifest } = sample(300);
    const id = releaseIdOf(manifest);
    const json = manifestJson(manifest);
    const area = await StagingArea.create(layout, id, manifest, undefined, json);
    expect(await area.manifestWritten()).toBe(true);
    expect(await readFile(layout.stagingManifest(id), 'utf8')).toBe(json);
    await area.close();
    // A restart: the folder and its manifest are picked up again (the manifest hashes to its id).
    const again = await StagingArea.reopen(
      layout,
      () => false,
      () => {},
    );
    expect(again.map((a) => a.id)).toEqual([id]);
    await again[0]!.close();
  });

  it('removed at once after its creation, leaves no manifest behind (its write is waited for)', async () => {
    const layout = await freshLayout();
    const { manifest } = sample(2000);
    const id = releaseIdOf(manifest);
    const area = await StagingArea.create(layout, id, manifest);
    await area.remove();
    expect(await readdir(layout.staging)).toEqual([]);
  });

  it('becomes a release whose manifest is the one written beside the staging folder', async () => {
    const layout = await freshLayout();
    const { manifest, chunks } = sample(100);
    const id = releaseIdOf(manifest);
    const area = await StagingArea.create(layout, id, manifest, undefined, manifestJson(manifest));
    area.plan(
      () => true,
      () => true,
    );
    // Assembled before anything waited for the manifest's write: the assembly does.
    await assembleRelease({
      layout,
      id,
      manifest,
      area,
      chunk: async (c) => chunks.get(c)!,
    });
    expect(await readFile(layout.manifest(id), 'utf8')).toBe(manifestJson(manifest));
    expect(await readdir(layout.staging)).toEqual([]);
    const e = manifest.entries.find((x) => x.type === 'file')!;
    expect(await readFile(path.join(layout.release(id), e.path), 'utf8')).toBe(`file 0 `.repeat(50));
  });
});
