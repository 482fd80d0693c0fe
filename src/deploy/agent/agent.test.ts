import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, readlink, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { AgentClient } from '../agent-client.js';
import { readChunk } from '../chunk-reads.js';
import { chunksOf } from '../manifest.js';
import { encodeFrame } from '../wire.js';
import { Agent } from './agent.js';

/** `n` pseudo-random bytes, the same for the same seed (SHA-256 in counter mode). */
function seededBytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let at = 0, i = 0; at < n; i++)
    at += createHash('sha256').update(`${seed}:${i}`).digest().copy(out, at);
  return out;
}

const TOKEN = 'unit-test-token-0123456789';
let root: string;
let client: AgentClient;
let url: string;
let rig: AgentRig;
let build: AgentRig['artifact'];

beforeEach(async () => {
  rig = await startAgentRig({
    prefix: 'slipway-agent-',
    token: TOKEN,
    limits: { jsonBytes: 64 * 1024, uploadBytes: 1024 * 1024, ids: 100 },
  });
  ({ root, client, url } = rig);
  build = rig.artifact;
});

afterEach(() => rig.close());

describe('agent', () => {
  it('stages from an origin, switches current atomically and rolls back', async () => {
    const v1 = await build('v1', { 'index.html': 'one', 'lib/a.js': 'a'.repeat(5000) });
    const s1 = await client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok && s1.value.chunksFetched).toBe(2);
    expect((await client.activate(v1.release)).ok).toBe(true);
    expect(await readlink(path.join(root, 'agent', 'current'))).toBe(`releases/${v1.release}`);

    const v2 = await build('v2', { 'index.html': 'two', 'lib/a.js': 'a'.repeat(5000) });
    const s2 = await client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok && [s2.value.chunksFetched, s2.value.chunksReused]).toEqual([1, 1]);
    const a2 = await client.activate(v2.release);
    expect(a2.ok && a2.value.previous).toBe(v1.release);
    const back = await client.rollback();
    expect(back.ok && back.value.current).toBe(v1.release);
  });

  it('shares unchanged files with the release before and never writes into them', async () => {
    const lib = 'b'.repeat(40_000);
    const v1 = await build('v1', { 'index.html': 'one', 'lib/a.js': lib, 'lib/b.js': 'bee' });
    expect(
      (await client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    expect((await client.activate(v1.release)).ok).toBe(true);
    const v2 = await build('v2', { 'index.html': 'two', 'lib/a.js': lib, 'lib/b.js': 'bee' });
    const s2 = await client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok && s2.value.filesCopied).toBe(2);
    const file = (release: string, p: string) => path.join(root, 'agent', 'releases', release, p);
    // Linked (or cloned where the filesystem can): the same bytes without a second write.
    const [a1, a2] = [await stat(file(v1.release, 'lib/a.js')), await stat(file(v2.release, 'lib/a.js'))];
    expect(a2.size).toBe(a1.size);
    expect(await readFile(file(v2.release, 'lib/a.js'), 'utf8')).toBe(lib);
    // The changed file is a new one; the old release keeps its own, through activation and back.
    expect((await stat(file(v2.release, 'index.html'))).ino).not.toBe(
      (await stat(file(v1.release, 'index.html'))).ino,
    );
    expect((await client.activate(v2.release)).ok).toBe(true);
    expect(await readFile(file(v1.release, 'index.html'), 'utf8')).toBe('one');
    expect((await client.rollback()).ok).toBe(true);
    expect(await readFile(path.join(root, 'agent', 'current', 'index.html'), 'utf8')).toBe('one');
    expect(await readFile(file(v2.release, 'index.html'), 'utf8')).toBe('two');
  });

  it('writes a changed large file from its earlier version, and from chunks once the app changed that', async () => {
    // Fixed bytes, not random ones: how many chunks an edit touches depends on where the cut
    // points fall around it, which random data moves from run to run (up to 5 here at times).
    const big = seededBytes(300_000, 'large file').toString('hex');
    const edit = (text: string, at: number) =>
      `${text.slice(0, at)}${'x'.repeat(1000)}${text.slice(at + 1000)}`;
    const file = (release: string) => path.join(root, 'agent', 'releases', release, 'data.txt');
    const v1 = await build('v1', { 'data.txt': big });
    expect(
      (await client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const v2text = edit(big, 300_000);
    const v2 = await build('v2', { 'data.txt': v2text });
    const s2 = await client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok && s2.value.chunksFetched).toBeLessThanOrEqual(2);
    expect(await readFile(file(v2.release), 'utf8')).toBe(v2text);
    expect(await readFile(file(v1.release), 'utf8')).toBe(big);
    expect((await stat(file(v2.release))).ino).not.toBe((await stat(file(v1.release))).ino);

    // The app writes into its release: the next release must not inherit that.
    await writeFile(file(v2.release), 'tampered', { flag: 'r+' });
    await utimes(file(v2.release), new Date(), new Date(Date.now() + 5000));
    const v3text = edit(v2text, 100_000);
    const v3 = await build('v3', { 'data.txt': v3text });
    const s3 = await client.stage({ release: v3.release, manifest: v3.manifest, sources: [v3.origin] });
    expect(s3.ok).toBe(true);
    expect(await readFile(file(v3.release), 'utf8')).toBe(v3text);
  });

  it('replaces a hard link left in a staging folder instead of writing through it into a kept release', async () => {
    const a = randomBytes(300_000).toString('base64');
    const v1text = a + randomBytes(300_000).toString('base64');
    const v1 = await build('v1', { 'f.txt': v1text });
    expect(
      (await client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] })).ok,
    ).toBe(true);
    const kept = path.join(root, 'agent', 'releases', v1.release, 'f.txt');
    // v2 starts like v1 and then differs: f.txt has an earlier version, g.txt does not.
    const v2text = a + randomBytes(300_000).toString('base64');
    const v2 = await build('v2', { 'f.txt': v2text, 'g.txt': v2text });
    // An assembly of v2 interrupted after linking both names to v1's file (the worst leftover).
    const staging = path.join(root, 'agent', 'staging');
    await mkdir(path.join(staging, v2.release), { recursive: true });
    await writeFile(path.join(staging, `${v2.release}.json`), JSON.stringify(v2.manifest));
    await link(kept, path.join(staging, v2.release, 'f.txt'));
    await link(kept, path.join(staging, v2.release, 'g.txt'));
    const again = await Agent.open({ dir: path.join(root, 'agent'), token: TOKEN });
    const s = await again.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s.ok, s.ok ? '' : s.error).toBe(true);
    expect(await readFile(kept, 'utf8')).toBe(v1text);
    for (const f of ['f.txt', 'g.txt'])
      expect(await readFile(path.join(root, 'agent', 'releases', v2.release, f), 'utf8')).toBe(v2text);
    await again.shutdown();
  });

  it('keeps only the newest releases, never the active one', async () => {
    for (const v of ['v1', 'v2', 'v3', 'v4']) {
      const b = await build(v, { 'x.txt': v });
      expect((await client.stage({ release: b.release, manifest: b.manifest, sources: [b.origin] })).ok).toBe(
        true,
      );
      expect((await client.activate(b.release, { keep: 2 })).ok).toBe(true);
    }
    // The pruning follows the answer to an activation; status answers once it is done.
    await client.status();
    const releases = (await readdir(path.join(root, 'agent', 'releases'))).sort();
    expect(releases).toHaveLength(2);
    expect(releases.map((r) => r.split('-')[0])).toEqual(['v3', 'v4']);
  });

  it('accepts pushed chunks and reports what is missing', async () => {
    const b = await build('p1', { 'a.txt': 'pushed content' });
    const ids = [...chunksOf(b.manifest).keys()];
    const before = (await (await post('/v1/chunks/missing', { ids })).json()) as { missing: string[] };
    expect(before.missing).toEqual(ids);
    const frames = await Promise.all(
      ids.map(async (id) => encodeFrame(id, await readChunk(b.chunks.get(id)!))),
    );
    const put = await fetch(`${url}/v1/chunks`, {
      method: 'PUT',
      headers: auth(),
      body: Buffer.concat(frames),
    });
    expect(put.status).toBe(200);
    const after = (await (await post('/v1/chunks/missing', { ids })).json()) as { missing: string[] };
    expect(after.missing).toEqual([]);
    const staged = await client.stage({ release: b.release, manifest: b.manifest, sources: [] });
    expect(staged.ok && staged.value.chunksFetched).toBe(0);
  });

  it('reads gzipped bodies, refusing one that inflates past the limit and one that is not gzip', async () => {
    const gz = (body: Buffer | string) =>
      fetch(`${url}/v1/chunks/missing`, {
        method: 'POST',
        headers: { ...auth(), 'content-encoding': 'gzip' },
        body: typeof body === 'string' ? gzipSync(body) : body,
      });
    const id = 'c'.repeat(64);
    const fine = await gz(JSON.stringify({ ids: [id] }));
    expect(fine.status).toBe(200);
    expect(((await fine.json()) as { missing: string[] }).missing).toEqual([id]);
    // A few kilobytes on the wire, megabytes inflated: refused as too large, not inflated whole.
    const bomb = await gz(JSON.stringify({ ids: [], pad: ' '.repeat(4 * 1024 * 1024) }));
    expect(bomb.status).toBe(413);
    expect((await gz(Buffer.from('not gzip at all'))).status).toBe(400);
  });

  it('refuses oversized bodies and corrupt chunks, and wrong tokens', async () => {
    const big = await post('/v1/chunks/missing', { ids: [], pad: 'x'.repeat(100 * 1024) });
    expect(big.status).toBe(413);
    const id = 'b'.repeat(64);
    const bad = await fetch(`${url}/v1/chunks`, {
      method: 'PUT',
      headers: auth(),
      body: await encodeFrame(id as never, Buffer.from('not b')),
    });
    expect(bad.status).toBe(400);
    expect((await new AgentClient(url, 'wrong-token-0000000000').status()).ok).toBe(false);
    expect((await fetch(`${url}/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
  });
});

function auth() {
  return { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
}

function post(route: string, body: unknown) {
  return fetch(`${url}${route}`, { method: 'POST', headers: auth(), body: JSON.stringify(body) });
}

describe('pruning after the answer', () => {
  it('reports a pruning that failed, keeps the activation, and prunes on the next one', async () => {
    const warnings: string[] = [];
    const own = await startAgentRig({
      prefix: 'slipway-agent-warn-',
      token: TOKEN,
      warn: (m) => warnings.push(m),
    });
    try {
      const deploy = async (version: string) => {
        const v = await own.artifact(version, { 'index.html': version });
        expect(
          (await own.client.stage({ release: v.release, manifest: v.manifest, sources: [v.origin] })).ok,
        ).toBe(true);
        const a = await own.client.activate(v.release);
        expect(a.ok).toBe(true);
        await own.client.status(); // waits for the pruning that follows the answer
        return v.release;
      };
      const releases = () => readdir(path.join(own.root, 'agent', 'releases'));
      const v1 = await deploy('v1');
      await deploy('v2');
      // Removed releases go through trash/: a file in its place makes the removal fail.
      const trash = own.agent.layout.trash;
      await rm(trash, { recursive: true, force: true });
      await writeFile(trash, 'not a folder');
      const v3 = await deploy('v3');
      expect(await readlink(path.join(own.root, 'agent', 'current'))).toBe(`releases/${v3}`);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`after activating ${v3} failed`);
      expect(await releases()).toContain(v1);

      await rm(trash, { force: true });
      const v4 = await deploy('v4');
      expect(warnings).toHaveLength(1);
      expect((await releases()).sort()).toEqual([v3, v4].sort());
    } finally {
      await own.close();
    }
  });
});
