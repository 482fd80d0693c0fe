/**
 * A streamed stage's part lines (stream-feed.ts, manifest-lines.ts ManifestLines part): a large
 * file's chunk list sent while it is chunked, before its entry, to an agent that announces them.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentProxy, oneRegionEnvironment } from '../../test/helpers/deploy-environment.js';
import { TestServers } from '../../test/helpers/http-servers.js';
import { EventStream } from '../events.js';
import { Agent } from './agent/agent.js';
import { listenAgent } from './agent/server.js';
import { type Artifact, readArtifact } from './artifact.js';
import { runDeployment } from './deploy.js';
import type { DeployEvent } from './events.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { type ManifestEntry, releaseIdOf } from './manifest.js';
import { startOrigin } from './origin.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import { StreamedStages, streamPays, streamPaysInParts } from './stage-stream.js';
import { StreamFeed } from './stream-feed.js';
import { sendStream } from './stream-send.js';
import type { ChunkId, ReleaseId } from './types.js';

const TOKEN = 'stream-parts-token-0123456789';
const MB = 1024 * 1024;
let root: string;
let art: string;
let agent: Agent;
const servers = new TestServers();

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-parts-'));
  agent = await Agent.open({ dir: path.join(root, 'agent'), token: TOKEN, keep: 2 });
  art = path.join(root, 'art');
  await mkdir(path.join(art, 'lib'), { recursive: true });
  await writeFile(path.join(art, 'index.html'), 'hello');
  // Several chunks, two of them alike (the same bytes at two offsets of one file).
  const big = Buffer.alloc(3 * MB);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 9) * 31) & 0xff;
  big.copy(big, 2 * MB, 0, 512 * 1024);
  await writeFile(path.join(art, 'lib/big.bin'), big);
  await writeFile(path.join(art, 'lib/z.txt'), 'after');
});
afterEach(async () => {
  await agent.shutdown();
  servers.closeAll();
  await rm(root, { recursive: true, force: true });
});

async function agentUrl(): Promise<string> {
  const server = await listenAgent(agent, '127.0.0.1', 0);
  servers.keep(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The artifact walked, an origin serving its chunks, and where its large file stands. */
async function walked(): Promise<{
  art: Artifact;
  at: number;
  big: Extract<ManifestEntry, { type: 'file' }>;
}> {
  const r = await readArtifact(art, 'v1');
  if (!r.ok) throw new Error(r.error);
  const at = r.value.manifest.entries.findIndex((e) => e.path === 'lib/big.bin');
  const big = r.value.manifest.entries[at];
  if (big?.type !== 'file') throw new Error('no large file');
  expect(big.chunks.length).toBeGreaterThan(4);
  return { art: r.value, at, big };
}

/** A file's SHA-256 (a deep equality of two 3 MB buffers takes seconds). */
async function digest(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** What the agent keeps under staging/ (nothing of a stream may stay) and its releases. */
async function leftovers(): Promise<{ staging: string[]; releases: string[] }> {
  const list = (d: string) => readdir(path.join(root, 'agent', d)).catch(() => [] as string[]);
  return { staging: await list('staging'), releases: await list('releases') };
}

/** POSTs a stage stream of `lines` (gzipped) and reads the whole answer. */
function postLines(url: string, lines: string[]): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/stage-stream', url),
      { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(gzipSync(lines.map((l) => `${l}\n`).join('')));
  });
}

describe('a large file streamed in parts', () => {
  it('arrives byte-identical, written from its parts before its entry came', async () => {
    const url = await agentUrl();
    const { art: a, at, big } = await walked();
    const { manifest, chunks } = a;
    const origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    try {
      const feed = new StreamFeed(true);
      const out = sendStream({
        url: new URL('/v1/stage-stream', url),
        headers: { authorization: `Bearer ${TOKEN}` },
        header: {
          protocol: DEPLOY_PROTOCOL,
          version: 'v1',
          chunking: DEFAULT_CHUNKING,
          sources: [{ url: origin.url, token: origin.token }],
        },
        feed,
      });
      feed.add(manifest.entries, at);
      // The list as the walk grows it: three parts, then the entry with the last chunks.
      const n = big.chunks.length;
      for (const k of [2, 3, n - 1]) feed.addPart(big, big.chunks.slice(0, k));
      feed.add(manifest.entries, manifest.entries.length);
      feed.end(releaseIdOf(manifest));
      const r = await out;
      expect(r.kind).toBe('staged');
      const staged = r.kind === 'staged' ? r.result : undefined;
      expect(staged?.ok, staged && !staged.ok ? staged.error : '').toBe(true);
      expect(staged?.ok && staged.value.chunksFetched).toBeGreaterThan(0);
      const release = releaseIdOf(manifest);
      for (const p of ['lib/big.bin', 'index.html', 'lib/z.txt'])
        expect(await digest(path.join(root, 'agent', 'releases', release, p))).toBe(
          await digest(path.join(art, p)),
        );
    } finally {
      await origin.close();
    }
    expect((await leftovers()).staging.filter((s) => s.startsWith('.stream-'))).toEqual([]);
  });

  it('is announced by the agent, and sent only to hosts that announce it', async () => {
    const url = await agentUrl();
    const said = await fetch(new URL('/v1/twin-check', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await said.json()).toMatchObject({ protocol: DEPLOY_PROTOCOL, releases: 0, streamParts: true });

    const { art: a, at, big } = await walked();
    const entries = a.manifest.entries;
    // As listed: the large file's chunks not known yet.
    const listed = entries.map((e, i) => (i === at ? { ...big, chunks: [] } : e));
    const stages = new StreamedStages(`${art}${path.sep}`, 'v1', DEFAULT_CHUNKING);
    stages.chunked(listed, at);
    const feeds = new Map<string, StreamFeed>();
    const client = (name: string) => ({
      stageStream: (o: { feed: StreamFeed }) => {
        feeds.set(name, o.feed);
        return new Promise<never>(() => {});
      },
    });
    const sources = [{ url: 'http://127.0.0.1:9', token: 'x' }];
    stages.start('old', client('old'), sources, false);
    stages.growing(listed, at, big.chunks.slice(0, 2));
    // A host that takes parts, started mid-file: the parts so far at once, then the rest.
    stages.start('new', client('new'), sources, true);
    stages.growing(listed, at, big.chunks.slice(0, 4));
    expect(stages.lookup.get(big.chunks[3]![0])).toBeDefined();
    stages.chunked(entries, entries.length);
    stages.end(releaseIdOf(a.manifest));
    const lines = (name: string) => {
      const got: Buffer[] = [];
      feeds.get(name)?.attach({ part: (b) => got.push(b), end: (b) => got.push(b), fail: () => {} });
      return got
        .map((b) => gunzipSync(b).toString())
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    const plain = lines('old');
    expect(plain.filter((l) => 'part' in l)).toEqual([]);
    expect(plain.filter((l) => 'path' in l)).toEqual(JSON.parse(JSON.stringify(entries)));
    const parted = lines('new');
    // The first part at once; two more chunks (under 4 MiB) wait, then come with the entry.
    expect(parted.filter((l) => 'part' in l)).toEqual([
      { part: big.path, mode: big.mode, offset: 0, chunks: big.chunks.slice(0, 2) },
    ]);
    // Parts just before their file's entry, the entries the same as the plain feed's.
    expect(parted.findIndex((l) => l.path === big.path)).toBe(parted.findIndex((l) => 'part' in l) + 1);
    expect(parted.filter((l) => 'path' in l)).toEqual(plain.filter((l) => 'path' in l));
  });

  it('is heard of from the walk as its chunk list grows, each time a longer start of the final list', async () => {
    // Past the size read whole (4 MB): chunked through a window, its list heard after each block.
    const block = Buffer.alloc(9 * MB);
    for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
    await writeFile(path.join(art, 'lib/large.bin'), block);
    const heard: { at: number; chunks: [string, number][] }[] = [];
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, {
      onChunking: (_entries, at, chunks) => heard.push({ at, chunks: chunks.map((c) => [c[0], c[1]]) }),
    });
    if (!r.ok) throw new Error(r.error);
    const at = r.value.manifest.entries.findIndex((e) => e.path === 'lib/large.bin');
    const large = r.value.manifest.entries[at];
    if (large?.type !== 'file') throw new Error('no large file');
    const mine = heard.filter((h) => h.at === at);
    expect(mine.length).toBe(heard.length);
    expect(mine.length).toBeGreaterThan(1);
    for (const [k, h] of mine.entries()) {
      expect(h.chunks).toEqual(large.chunks.slice(0, h.chunks.length));
      if (k > 0) expect(h.chunks.length).toBeGreaterThanOrEqual(mine[k - 1]!.chunks.length);
    }
    expect(mine[mine.length - 1]!.chunks).toEqual(large.chunks);
  });

  it('goes in parts of 4 MiB after the first, each where the last ended', () => {
    const feed = new StreamFeed(true);
    const chunks = Array.from(
      { length: 12 },
      (_, k) => [k.toString(16).padStart(64, '0'), MB] as [ChunkId, number],
    );
    const file = { type: 'file' as const, path: 'f', mode: 0o644, size: 12 * MB, chunks };
    for (let n = 1; n <= 11; n++) feed.addPart(file, chunks.slice(0, n));
    feed.add([file], 1);
    feed.end(`v1-${'0'.repeat(12)}` as ReleaseId);
    const got: Buffer[] = [];
    feed.attach({ part: (b) => got.push(b), end: (b) => got.push(b), fail: () => {} });
    const parts = got
      .map((b) => gunzipSync(b).toString())
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { part?: string; offset?: number; chunks?: unknown[] })
      .filter((l) => l.part !== undefined)
      .map((l) => [l.offset, l.chunks?.length]);
    expect(parts).toEqual([
      [0, 1],
      [MB, 4],
      [5 * MB, 4],
    ]);
  });

  it('is worth a stream for an artifact with a file of 64 MB or more, to an agent that takes parts', () => {
    expect(streamPays(1, 200 * MB)).toBe(false);
    expect(streamPaysInParts(1, 200 * MB, 200 * MB)).toBe(true);
    expect(streamPaysInParts(40, 100 * MB, 4 * MB)).toBe(false);
    expect(streamPaysInParts(20_000, 40 * MB, 4096)).toBe(true);
  });

  it('deploys through an agent before part lines (no streamParts in its twin check) as before', async () => {
    const inner = await agentUrl();
    const port = Number(new URL(inner).port);
    // An agent before the twin check's streamParts: its route missing, the status answers.
    const { url, asked } = await agentProxy(servers, port, { missing: ['/v1/twin-check'] });
    const env = oneRegionEnvironment({ name: 'parts', artifact: art, token: TOKEN, agentUrls: [url] });
    const r = await runDeployment({ env, version: 'v1', events: new EventStream<DeployEvent>() });
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    expect(asked).toContain('POST /v1/stage-stream');
    const release = r.ok ? r.value.release : '';
    expect(await digest(path.join(root, 'agent', 'releases', release, 'lib/big.bin'))).toBe(
      await digest(path.join(art, 'lib/big.bin')),
    );
  });
});

describe('a stream broken off in the middle of a file sent in parts', () => {
  it('leaves nothing, and a stream after it stages', async () => {
    const url = await agentUrl();
    const { art: a, at, big } = await walked();
    const { manifest, chunks } = a;
    const origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    try {
      const header = JSON.stringify({
        protocol: DEPLOY_PROTOCOL,
        version: 'v1',
        chunking: DEFAULT_CHUNKING,
        sources: [{ url: origin.url, token: origin.token }],
      });
      const first = [
        header,
        ...manifest.entries.slice(0, at).map((e) => JSON.stringify(e)),
        JSON.stringify({ part: big.path, mode: big.mode, offset: 0, chunks: big.chunks.slice(0, 3) }),
      ];
      // Sent, then the connection dropped once the agent has begun (its answer's head came).
      await new Promise<void>((resolve) => {
        const req = request(new URL('/v1/stage-stream', url), {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' },
        });
        req.on('response', (res) => {
          res.resume();
          req.destroy();
          resolve();
        });
        req.on('error', () => resolve());
        req.write(gzipSync(first.map((l) => `${l}\n`).join('')));
      });
      for (let i = 0; i < 400 && (await leftovers()).staging.length; i++)
        await new Promise((res) => setTimeout(res, 25));
      expect(await leftovers()).toEqual({ staging: [], releases: [] });

      const feed = new StreamFeed(true);
      const out = sendStream({
        url: new URL('/v1/stage-stream', url),
        headers: { authorization: `Bearer ${TOKEN}` },
        header: JSON.parse(header),
        feed,
      });
      feed.add(manifest.entries, at);
      feed.addPart(big, big.chunks.slice(0, 3));
      feed.add(manifest.entries, manifest.entries.length);
      feed.end(releaseIdOf(manifest));
      const r = await out;
      const staged = r.kind === 'staged' ? r.result : undefined;
      expect(staged?.ok, staged && !staged.ok ? staged.error : r.kind).toBe(true);
      expect(await digest(path.join(root, 'agent', 'releases', releaseIdOf(manifest), big.path))).toBe(
        await digest(path.join(art, big.path)),
      );
    } finally {
      await origin.close();
    }
  });
});

describe('part lines that break the rules', () => {
  const header = (source: { url: string; token: string }) =>
    JSON.stringify({
      protocol: DEPLOY_PROTOCOL,
      version: 'v1',
      chunking: DEFAULT_CHUNKING,
      sources: [source],
    });
  const part = (p: string, offset: number, chunks: unknown[], mode = 0o644) =>
    JSON.stringify({ part: p, mode, offset, chunks });
  const bytesOf = (chunks: [string, number][]) => chunks.reduce((s, c) => s + c[1], 0);
  const other = 'b'.repeat(64);

  it.each<[string, (big: Extract<ManifestEntry, { type: 'file' }>) => string[], string]>([
    [
      'overlapping parts',
      (b) => [part(b.path, 0, b.chunks.slice(0, 2)), part(b.path, b.chunks[0]![1], b.chunks.slice(1, 3))],
      'where the last ended',
    ],
    [
      'a part past a gap',
      (b) => [part(b.path, 0, b.chunks.slice(0, 1)), part(b.path, b.chunks[0]![1] + 1, b.chunks.slice(1, 2))],
      'where the last ended',
    ],
    [
      'a chunk larger than the chunking allows',
      (b) => [part(b.path, 0, [[b.chunks[0]![0], DEFAULT_CHUNKING.max + 1]])],
      'bad chunk size in a part',
    ],
    ['a part that climbs out', () => [part('../evil', 0, [[other, 10]])], 'refused path'],
    [
      'a part below no folder',
      () => [part('nowhere/x', 0, [[other, 10]])],
      'must come after its parent folder',
    ],
    [
      'parts past the end of the entry',
      (b) => [part(b.path, 0, b.chunks), part(b.path, b.size, [[other, 10]]), JSON.stringify(b)],
      'lists fewer chunks than its parts',
    ],
    [
      'an entry whose chunks are not its parts',
      (b) => [part(b.path, 0, [[other, b.chunks[0]![1]]]), JSON.stringify({ ...b, chunks: b.chunks })],
      "does not list its parts' chunks first",
    ],
    [
      'another entry after the parts',
      (b) => [part(b.path, 0, b.chunks.slice(0, 1)), JSON.stringify({ type: 'dir', path: 'x', mode: 0o755 })],
      'is not that file',
    ],
    [
      'a part of another file before the entry',
      (b) => [part(b.path, 0, b.chunks.slice(0, 1)), part('lib/other', 0, b.chunks.slice(1, 2))],
      'before the entry of "lib/big.bin"',
    ],
    [
      'parts whose entry never comes',
      (b) => [part(b.path, 0, b.chunks.slice(0, 1))],
      'came in parts, but not its entry',
    ],
    [
      'another mode in the entry',
      (b) => [part(b.path, 0, b.chunks.slice(0, 1), 0o755), JSON.stringify(b)],
      'another mode than its parts',
    ],
  ])('refuses %s, keeping nothing; a stream after it stages', async (_what, bad, message) => {
    const url = await agentUrl();
    const { art: a, at, big } = await walked();
    const { manifest, chunks } = a;
    const origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    try {
      const source = { url: origin.url, token: origin.token };
      const before = manifest.entries.slice(0, at).map((e) => JSON.stringify(e));
      const lines = [header(source), ...before, ...bad(big)];
      lines.push(JSON.stringify({ release: releaseIdOf(manifest), entries: at + 1 }));
      const r = await postLines(url, lines);
      expect(r.status).toBe(200);
      const last = JSON.parse(r.text.trim().split('\n').pop()!) as { type: string; message: string };
      expect(last.type).toBe('error');
      expect(last.message).toContain(message);
      expect(await leftovers()).toEqual({ staging: [], releases: [] });
      expect(bytesOf(big.chunks)).toBe(big.size);

      // A retry (the whole list, in parts as it should be) stages.
      const again = [
        header(source),
        ...before,
        part(big.path, 0, big.chunks.slice(0, 3)),
        part(big.path, bytesOf(big.chunks.slice(0, 3)), big.chunks.slice(3, 4)),
        ...manifest.entries.slice(at).map((e) => JSON.stringify(e)),
        JSON.stringify({ release: releaseIdOf(manifest), entries: manifest.entries.length }),
      ];
      const ok = await postLines(url, again);
      const done = JSON.parse(ok.text.trim().split('\n').pop()!) as { type: string; message?: string };
      expect(done.type, done.message).toBe('done');
      expect(await digest(path.join(root, 'agent', 'releases', releaseIdOf(manifest), 'lib/big.bin'))).toBe(
        await digest(path.join(art, 'lib/big.bin')),
      );
    } finally {
      await origin.close();
    }
  });
});
