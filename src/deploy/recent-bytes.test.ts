/**
 * The ring of the small files the walk read last (recent-bytes.ts): a chunk is served from it
 * only while the walk has not lapped it, and the origin serves every chunk's own bytes either way.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact } from './artifact.js';
import { fetchChunks } from './chunk-client.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { GrowingChunks } from './growing-chunks.js';
import type { ManifestEntry } from './manifest.js';
import { startOrigin } from './origin.js';
import { RecentBytes } from './recent-bytes.js';
import { StreamedStages } from './stage-stream.js';
import type { ChunkId } from './types.js';
import { loadZstd } from './zstd.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'slipway-recent-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Fills a slot with `data` and keeps it as entry `entry`'s file. */
function put(ring: RecentBytes, data: Buffer, entry: number): number {
  const slot = ring.slot(data.length);
  expect(slot).toBeDefined();
  data.copy(slot!);
  ring.keep(entry);
  return entry;
}

describe('RecentBytes', () => {
  it('holds a chunk until the ring is lapped, then forgets it', () => {
    const ring = new RecentBytes(64 * 1024);
    const first = randomBytes(3000);
    const a = put(ring, first, 0);
    expect(ring.view(a, 3000)?.equals(first)).toBe(true);
    expect(ring.view(1, 3000)).toBeUndefined();
    // 21 more slots of 3,000 bytes: 66,000 handed out, the first one's bytes still whole.
    const later = Array.from({ length: 20 }, (_, i) => put(ring, randomBytes(3000), i + 1));
    expect(ring.view(a, 3000)?.equals(first)).toBe(true);
    // Entries far apart (a list of thousands): kept all the same.
    put(ring, randomBytes(3000), 5000);
    // The 22nd slot would wrap: it starts at the ring's beginning, over the first.
    expect(ring.view(a, 3000)).toBeUndefined();
    expect(ring.view(later[19]!, 3000)).toBeDefined();
    expect(ring.view(5000, 3000)).toBeDefined();
    expect(ring.misses).toBe(1);
  });

  it('tells how far its filling runs ahead of the furthest slot asked for, while one was asked for lately', async () => {
    const ring = new RecentBytes(64 * 1024);
    for (let i = 0; i < 10; i++) put(ring, randomBytes(1000), i);
    // A window of a minute: a slot asked for just now is within it on any machine, however busy.
    expect(ring.lead(60_000)).toBeUndefined();
    ring.view(3, 1000);
    expect(ring.lead(60_000)).toBe(6000);
    ring.view(1, 1000);
    expect(ring.lead(60_000)).toBe(6000);
    put(ring, randomBytes(1000), 10);
    expect(ring.lead(60_000)).toBe(7000);
    // Nothing asked for since: a 10 ms window lapses (polled, with a generous deadline).
    for (const deadline = Date.now() + 10_000; ring.lead(10) !== undefined && Date.now() < deadline; )
      await new Promise((r) => setTimeout(r, 5));
    expect(ring.lead(10)).toBeUndefined();
  });

  it('makes a streamed walk wait only while every host streams and the fastest lags it by megabytes', () => {
    const client = {
      stageStream: ({ feed }: { feed: { attach(s: object): unknown } }) => {
        feed.attach({ part() {}, end() {}, fail() {} });
        return new Promise<never>(() => {});
      },
    };
    const sources = [{ url: 'http://127.0.0.1:1', token: 't' }];
    for (const hosts of [1, 2]) {
      const streams = new StreamedStages('/nowhere/', 'v1', DEFAULT_CHUNKING, hosts);
      expect(streams.keep()).toBeUndefined();
      streams.start('t1', client as never, sources);
      const ring = streams.keep()!;
      const entries: ManifestEntry[] = [];
      const idOf = (i: number) => `${'0'.repeat(60)}${String(i).padStart(4, '0')}` as ChunkId;
      // 14 MB of small files read, the first one's chunk asked for: 14 MB ahead.
      for (let i = 0; i < 7000; i++) {
        ring.slot(2000)!.fill(i % 251);
        ring.keep(i);
        entries.push({ type: 'file', path: `f${i}`, mode: 0o644, size: 2000, chunks: [[idOf(i), 2000]] });
      }
      streams.chunked(entries, entries.length);
      expect(streams.ahead()).toBe(false); // nothing asked for yet: a host may not have begun
      expect(streams.lookup.held(idOf(0), 2000)).toBeDefined();
      // A lone host lagging 14 MB: wait; a second host not streamed (staged after the walk): read on.
      expect(streams.ahead()).toBe(hosts === 1);
      // The host caught up to within a few files: read on.
      streams.lookup.held(idOf(6990), 2000);
      expect(streams.ahead()).toBe(false);
    }
  });

  it('gives no slot to a file of a sixteenth of the ring or more, nor to an empty one', () => {
    const ring = new RecentBytes(64 * 1024);
    expect(ring.slot(4096)).toBeDefined();
    expect(ring.slot(4097)).toBeUndefined();
    expect(ring.slot(0)).toBeUndefined();
  });

  it('is filled by the walk with the same manifest, and the origin serves each chunk whole, lapped or not', async () => {
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 120; i++) files.set(`f${String(i).padStart(3, '0')}.txt`, randomBytes(500 + i * 30));
    // A file of two chunks and an empty one: read as before, never kept.
    files.set('large.bin', randomBytes(DEFAULT_CHUNKING.min + 5000));
    files.set('empty', Buffer.alloc(0));
    // Two files of the same bytes: one chunk, served from the first's place.
    const twice = randomBytes(700);
    files.set('twice-a.txt', twice);
    files.set('twice-b.txt', twice);
    for (const [name, data] of files) await writeFile(path.join(dir, name), data);
    const ring = new RecentBytes(64 * 1024);
    const kept = await readArtifact(dir, 'v1', DEFAULT_CHUNKING, { keep: () => ring });
    const plain = await readArtifact(dir, 'v1');
    expect(kept.ok && plain.ok).toBe(true);
    if (!kept.ok || !plain.ok) return;
    expect(kept.value.manifest).toEqual(plain.value.manifest);
    const lookup = new GrowingChunks(kept.value.root + path.sep, ring);
    lookup.add(kept.value.manifest.entries, kept.value.manifest.entries.length);
    for (const compression of ['none', 1] as const) {
      const origin = await startOrigin({
        chunks: lookup,
        token: 'recent-test-token-0123456789',
        compression,
      });
      try {
        // Each chunk once, as an agent asks.
        const ids = [
          ...new Set(
            kept.value.manifest.entries.flatMap((e) => (e.type === 'file' ? e.chunks.map(([id]) => id) : [])),
          ),
        ];
        const got = new Map<ChunkId, Buffer>();
        const r = await fetchChunks({
          source: origin,
          ids,
          maxChunk: DEFAULT_CHUNKING.max,
          encoding: 'br-fast',
          codecs: loadZstd() ? ['zstd'] : [],
          onChunk: (id, data) => {
            got.set(id, Buffer.from(data));
          },
        });
        expect(r.ok ? 'ok' : r.error).toBe('ok');
        for (const e of kept.value.manifest.entries)
          if (e.type === 'file')
            expect(Buffer.concat(e.chunks.map(([id]) => got.get(id)!)).equals(files.get(e.path)!)).toBe(true);
      } finally {
        await origin.close();
      }
    }
    // The last files' chunks came from the ring, the first ones' from their files.
    expect(ring.hits).toBeGreaterThan(0);
    expect(ring.misses).toBeGreaterThan(0);
  });
});
