import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createGzip, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentProxy, oneRegionEnvironment } from '../../test/helpers/deploy-environment.js';
import { TestServers } from '../../test/helpers/http-servers.js';
import { EventStream } from '../events.js';
import { Agent } from './agent/agent.js';
import { DEFAULT_LIMITS, listenAgent } from './agent/server.js';
import { readArtifact, START_FILES } from './artifact.js';
import { runDeployment } from './deploy.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';
import { chunkIdOf, DEFAULT_CHUNKING } from './fastcdc.js';
import { chunksOf, releaseIdOf } from './manifest.js';
import { startOrigin } from './origin.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import { streamPays } from './stage-stream.js';
import { encodeText, StreamFeed } from './stream-feed.js';
import { sendStream } from './stream-send.js';
import type { ReleaseId } from './types.js';

const TOKEN = 'stage-stream-token-0123456789';
let root: string;
let art: string;
let agent: Agent;
const servers = new TestServers();

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-stream-'));
  agent = await Agent.open({ dir: path.join(root, 'agent'), token: TOKEN, keep: 2 });
  art = path.join(root, 'art');
  // Folders, an empty file, a large file of several chunks, the same bytes twice, modes, a symlink.
  await mkdir(path.join(art, 'lib/deep'), { recursive: true });
  await writeFile(path.join(art, 'index.html'), 'hello');
  await writeFile(path.join(art, 'empty'), '');
  const big = Buffer.alloc(1_500_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 9) * 31) & 0xff;
  await writeFile(path.join(art, 'lib/big.bin'), big);
  await writeFile(path.join(art, 'lib/a.js'), 'a'.repeat(20_000));
  await writeFile(path.join(art, 'lib/deep/a-copy.js'), 'a'.repeat(20_000));
  await writeFile(path.join(art, 'lib/run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(path.join(art, 'lib/run.sh'), 0o755);
  await symlink('lib/a.js', path.join(art, 'link.js'));
});
afterEach(async () => {
  await agent.shutdown();
  servers.closeAll();
  await rm(root, { recursive: true, force: true });
});

/**
 * The agent behind a proxy that answers `missing` routes 404, as an older agent does, and resets
 * the connection of the `reset` ones unanswered.
 */
async function agentBehindProxy(missing: string[] = [], reset: string[] = []) {
  const server = await listenAgent(agent, '127.0.0.1', 0);
  servers.keep(server);
  return agentProxy(servers, (server.address() as AddressInfo).port, { missing, reset });
}

/** This test's agent and `second`, each behind a proxy that records what it is asked, in one region. */
async function twoHosts(second: Agent) {
  const a = await agentBehindProxy();
  const server = await listenAgent(second, '127.0.0.1', 0);
  servers.keep(server);
  const b = await agentProxy(servers, (server.address() as AddressInfo).port);
  const env = oneRegionEnvironment({
    name: 'stream',
    artifact: art,
    token: TOKEN,
    agentUrls: [a.url, b.url],
  });
  return { a, b, env };
}

const envFor = (agentUrl: string): Environment =>
  oneRegionEnvironment({ name: 'stream', artifact: art, token: TOKEN, agentUrls: [agentUrl] });

const deploy = (url: string, version: string) =>
  runDeployment({ env: envFor(url), version, events: new EventStream<DeployEvent>() });

/** Every path under `dir` with its kind, mode and content digest (or link target). */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of (await readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    const full = path.join(dir, p);
    const { lstat, readlink } = await import('node:fs/promises');
    const st = await lstat(full);
    if (d.isSymbolicLink()) out.push(`${p} -> ${await readlink(full)}`);
    else if (d.isDirectory()) out.push(`${p}/ ${(st.mode & 0o777).toString(8)}`, ...(await tree(dir, p)));
    else
      out.push(
        `${p} ${(st.mode & 0o777).toString(8)} ${createHash('sha256')
          .update(await readFile(full))
          .digest('hex')}`,
      );
  }
  return out;
}

/** What the agent keeps under staging/ (nothing of a stream may stay) and its releases. */
async function leftovers(): Promise<{ staging: string[]; releases: string[] }> {
  const list = (d: string) => readdir(path.join(root, 'agent', d)).catch(() => [] as string[]);
  return { staging: await list('staging'), releases: await list('releases') };
}

/**
 * What leftovers() finds once the agent's staging folder has stayed empty for 40 polls in a row
 * (25 ms apart), or after 60 s. The agent runs in this process: a stream the deployer broke off
 * may still be reaching its handler when the deploy returns, which makes the folder just after a
 * first look found none and removes it once the request is refused (seen under load).
 */
async function leftoversOnceSettled(): Promise<{ staging: string[]; releases: string[] }> {
  const deadline = Date.now() + 60_000;
  for (let emptyInARow = 0; emptyInARow < 40 && Date.now() < deadline; ) {
    emptyInARow = (await leftovers()).staging.length ? 0 : emptyInARow + 1;
    await new Promise((res) => setTimeout(res, 25));
  }
  return leftovers();
}

/** Deploys `art` to this test's agent: streamed (no outline asked for), its release byte-identical. */
async function expectStreamedByteIdentical(): Promise<void> {
  const { url, asked } = await agentBehindProxy();
  const r = await deploy(url, 'v1');
  expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
  expect(asked).toContain('POST /v1/stage-stream');
  expect(asked).not.toContain('POST /v1/prepare');
  const release = r.ok ? r.value.release : '';
  expect(await tree(path.join(root, 'agent', 'releases', release))).toEqual(await tree(art));
}

/**
 * POSTs a stage stream of `lines` (gzipped); `cut` breaks the request off after them. `frames`:
 * the body instead, in zstd frames of that many lines each, written piece by piece (`drop`:
 * its last bytes left out).
 */
function postLines(
  url: string,
  lines: string[],
  cut = false,
  zstd?: { frames: number; drop?: number },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/v1/stage-stream', url),
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': zstd ? 'zstd' : 'gzip' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', (e) => (cut ? resolve({ status: 0, text: '' }) : reject(e)));
    if (zstd) {
      const frames: Buffer[] = [];
      for (let i = 0; i < lines.length; i += zstd.frames)
        frames.push(
          encodeText(
            lines
              .slice(i, i + zstd.frames)
              .map((l) => `${l}\n`)
              .join(''),
            'zstd',
          ),
        );
      const body = Buffer.concat(frames);
      const sent = body.subarray(0, body.length - (zstd.drop ?? 0));
      // Pieces that split frames anywhere.
      for (let at = 0; at < sent.length; at += 777) req.write(sent.subarray(at, at + 777));
    } else req.write(gzipSync(lines.map((l) => `${l}\n`).join('')));
    if (cut) setTimeout(() => req.destroy(), 50);
    else req.end();
  });
}

const header = (sources: { url: string; token: string }[] = [{ url: 'http://127.0.0.1:9', token: 'x' }]) =>
  JSON.stringify({ protocol: DEPLOY_PROTOCOL, version: 'v1', chunking: DEFAULT_CHUNKING, sources });

describe('the streamed stage of a first release', () => {
  it('stages a release byte-identical to the artifact, and redeploys the usual way', async () => {
    const { url, asked } = await agentBehindProxy();
    const events = new EventStream<DeployEvent>();
    const seen: DeployEvent[] = [];
    events.subscribe((e) => seen.push(e));
    const r = await runDeployment({ env: envFor(url), version: 'v1', events });
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    expect(asked).toContain('POST /v1/stage-stream');
    expect(asked).not.toContain('POST /v1/stage');
    // Reported as any staging: announced after the deployment, then staged with its counts.
    const types = seen.map((e) => e.type).filter((t) => t !== 'stage-progress');
    expect(types.indexOf('deploy-started')).toBeLessThan(types.indexOf('target-staging'));
    expect(types.indexOf('target-staging')).toBeLessThan(types.indexOf('target-staged'));
    const staged = seen.find((e) => e.type === 'target-staged');
    expect(staged?.type === 'target-staged' && staged.chunksFetched).toBeGreaterThan(0);
    expect(asked).not.toContain('POST /v1/prepare');
    const release = r.ok ? r.value.release : '';
    expect(await tree(path.join(root, 'agent', 'releases', release))).toEqual(await tree(art));
    // Nothing of the stream is left beside the release.
    expect((await leftovers()).staging.filter((n) => n.startsWith('.stream-'))).toEqual([]);

    // A host with a release is not streamed to: its files are linked from the kept one.
    await writeFile(path.join(art, 'index.html'), 'hello again');
    asked.length = 0;
    const again = await deploy(url, 'v2');
    expect(again.ok && again.value.status).toBe('success');
    expect(asked).not.toContain('POST /v1/stage-stream');
    const v2 = again.ok ? again.value.release : '';
    expect(await tree(path.join(root, 'agent', 'releases', v2))).toEqual(await tree(art));
  });

  it('leaves every chunk located in the release, each read back verified (none in staging)', async () => {
    const { url } = await agentBehindProxy();
    const r = await deploy(url, 'v1');
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    const release = (r.ok ? r.value.release : '') as ReleaseId;
    const manifest = agent.manifestOf(release);
    if (!manifest) throw new Error('no manifest kept');
    const chunks = [...chunksOf(manifest).keys()];
    expect(chunks.length).toBeGreaterThan(0);
    // Settled in place: no location left in a staging folder, nothing in the pool.
    expect(agent.index.pooled).toBe(0);
    for (const c of chunks) {
      const data = await agent.index.read(c);
      expect(data && chunkIdOf(data), c).toBe(c);
    }
  });

  it('is used for artifacts of small files on average, or small in all (streamPays)', () => {
    const MB = 1024 * 1024;
    // Shapes `small` (20,000 files of ~2 KB) and `web` (2,000 files, 50 MB) stream to a lone
    // host, `small` to six too, `web` not; `big` (one 200 MB file) is staged after the walk
    // (without parts); anything under 16 MB streams.
    expect(streamPays(20_000, 40 * MB)).toBe(true);
    expect(streamPays(20_000, 40 * MB, 6)).toBe(true);
    expect(streamPays(2_000, 50 * MB)).toBe(true);
    expect(streamPays(2_000, 50 * MB, 6)).toBe(false);
    expect(streamPays(2_000, 50 * MB, 2)).toBe(false);
    expect(streamPays(1, 200 * MB)).toBe(false);
    expect(streamPays(40, 100 * MB)).toBe(false);
    expect(streamPays(3, 2 * MB)).toBe(true);
    expect(streamPays(3, 2 * MB, 6)).toBe(true);
    expect(streamPays(0, 0)).toBe(true);
    // The lines from 16 MB on: 16 files per MB to a lone host, 128 to more.
    expect(streamPays(16 * 16, 16 * MB)).toBe(true);
    expect(streamPays(16 * 16 - 1, 16 * MB)).toBe(false);
    expect(streamPays(128 * 16, 16 * MB, 2)).toBe(true);
    expect(streamPays(128 * 16 - 1, 16 * MB, 2)).toBe(false);
  });

  /** 17 MB in 300 files of 56 KB: past 16 MB, 17.6 files per MB. */
  async function midSizedFiles(): Promise<void> {
    const block = Buffer.alloc(56 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
    await mkdir(path.join(art, 'static'));
    for (let k = 0; k < 300; k++) {
      block.writeUInt32BE(k, 0);
      await writeFile(path.join(art, `static/f${k}.png`), block);
    }
  }

  it('streams an artifact of files of some tens of KB (16+ per MB, as a web build) to a lone host', async () => {
    await midSizedFiles();
    await expectStreamedByteIdentical();
  });

  it('stages such an artifact after the walk on two hosts, each tree made ahead', async () => {
    await midSizedFiles();
    const second = await Agent.open({ dir: path.join(root, 'agent2'), token: TOKEN, keep: 2 });
    try {
      const { a, b, env } = await twoHosts(second);
      const r = await runDeployment({ env, version: 'v1', events: new EventStream<DeployEvent>() });
      expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
      for (const p of [a, b]) {
        expect(p.asked).not.toContain('POST /v1/stage-stream');
        expect(p.asked).toContain('POST /v1/prepare');
      }
      const release = r.ok ? r.value.release : '';
      for (const dir of ['agent', 'agent2'])
        expect(await tree(path.join(root, dir, 'releases', release))).toEqual(await tree(art));
    } finally {
      await second.shutdown();
    }
  });

  it('yields to the event loop after every file while hurried (the hosts first answers awaited)', async () => {
    let turns = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    let asked = 0;
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, {
      onOutline: () => {},
      hurry: () => {
        asked++;
        return true;
      },
    });
    stop = true;
    expect(r.ok).toBe(true);
    const files = r.ok ? r.value.files : 0;
    expect(asked).toBe(files);
    expect(turns).toBeGreaterThanOrEqual(files);
  });

  /** Past START_FILES small files in folders of their own, listed after the rest. */
  async function manySmallFiles(): Promise<number> {
    const n = START_FILES * 3;
    for (let d = 0; d < 6; d++) await mkdir(path.join(art, `m/d${d}`), { recursive: true });
    for (let k = 0; k < n; k++) await writeFile(path.join(art, `m/d${k % 6}/f${k}.txt`), `small file ${k}\n`);
    return n;
  }

  it('chunks files as listed once started early, entries heard before the listing ends, the same manifest', async () => {
    await manySmallFiles();
    const plain = await readArtifact(art, 'v1');
    const asked: boolean[] = [];
    let outlined = false;
    let readyBeforeOutline = 0;
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, {
      onOutline: () => {
        outlined = true;
      },
      onStart: (complete) => {
        asked.push(complete);
        return true;
      },
      onChunked: (entries, ready) => {
        if (outlined) return false;
        // Entries heard final are: every file among them chunked (none empty of chunks but an empty file).
        for (const e of entries.slice(0, ready))
          if (e.type === 'file' && e.size > 0) expect(e.chunks.length).toBeGreaterThan(0);
        readyBeforeOutline = Math.max(readyBeforeOutline, ready);
        return false;
      },
    });
    expect(r.ok && plain.ok).toBe(true);
    expect(asked).toEqual([false]);
    // Much of the listing was heard chunked before it ended (the large file waits for after it).
    expect(readyBeforeOutline).toBeGreaterThan(START_FILES);
    expect(r.ok && r.value.manifest.entries).toEqual(plain.ok && plain.value.manifest.entries);
    expect(r.ok && r.value.reread).toBe(plain.ok && plain.value.reread);
  });

  it('waits while told it is ahead (the event loop turning meanwhile), then reads on to the same manifest', async () => {
    await manySmallFiles();
    const plain = await readArtifact(art, 'v1');
    let waits = 0;
    let turns = 0;
    const timer = setInterval(() => turns++, 1);
    try {
      const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, {
        onStart: () => true,
        onChunked: () => true,
        // Ahead for 20 asks at some point of the listing, then never again.
        ahead: () => {
          if (waits >= 20) return false;
          waits++;
          return true;
        },
      });
      expect(r.ok && plain.ok).toBe(true);
      expect(waits).toBe(20);
      expect(turns).toBeGreaterThan(0);
      expect(r.ok && r.value.manifest.entries).toEqual(plain.ok && plain.value.manifest.entries);
    } finally {
      clearInterval(timer);
    }
  });

  it('asks again once the whole is listed when the early answer is no, chunking nothing before', async () => {
    await manySmallFiles();
    const asked: boolean[] = [];
    let chunkedEarly = 0;
    let started = false;
    const r = await readArtifact(art, 'v1', DEFAULT_CHUNKING, {
      onStart: (complete) => {
        asked.push(complete);
        started = complete;
        return complete;
      },
      onChunked: (entries, ready) => {
        if (!started)
          for (const e of entries.slice(0, ready)) if (e.type === 'file' && e.chunks.length) chunkedEarly++;
        return false;
      },
    });
    expect(r.ok).toBe(true);
    expect(asked).toEqual([false, true]);
    expect(chunkedEarly).toBe(0);
  });

  it('streams a first deploy of many small files begun before its listing ends, byte-identical', async () => {
    await manySmallFiles();
    await expectStreamedByteIdentical();
  });

  it('stops a stream begun early when the end of the listing is refused, leaving nothing', async () => {
    await manySmallFiles();
    await symlink('../../../outside', path.join(art, 'm/d5/zz-escape'));
    const { url } = await agentBehindProxy();
    const r = await deploy(url, 'v1');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('refused symlink');
    expect(await leftoversOnceSettled()).toEqual({ staging: [], releases: [] });
  });

  it('stages an artifact of large files after the walk, its tree made ahead from the outline', async () => {
    // 20 MB in 4 files: not worth streaming (streamPays).
    const block = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
    for (let k = 0; k < 4; k++) {
      block[0] = k;
      await writeFile(path.join(art, `lib/large-${k}.bin`), block);
    }
    const { url, asked } = await agentBehindProxy();
    const r = await deploy(url, 'v1');
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    expect(asked).not.toContain('POST /v1/stage-stream');
    expect(asked).toContain('POST /v1/prepare');
    expect(asked).toContain('POST /v1/stage');
    const release = r.ok ? r.value.release : '';
    expect(await tree(path.join(root, 'agent', 'releases', release))).toEqual(await tree(art));
  });

  it('stops the streams of an artifact refused at the end of its walk, leaving nothing', async () => {
    await symlink('../../outside', path.join(art, 'lib/zz-escape'));
    const { url } = await agentBehindProxy();
    const r = await deploy(url, 'v1');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('refused symlink');
    // A stream begun (the walk may end before the agent's answer to the twin check comes) is
    // broken off: the agent removes its folder.
    expect(await leftoversOnceSettled()).toEqual({ staging: [], releases: [] });
  });

  it('streams to a relay and its neighbour, which pulls through it', async () => {
    const second = await Agent.open({ dir: path.join(root, 'agent2'), token: TOKEN, keep: 2 });
    try {
      const { a, b, env } = await twoHosts(second);
      const r = await runDeployment({
        env: { ...env, relay: true },
        version: 'v1',
        events: new EventStream<DeployEvent>(),
      });
      expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
      expect(a.asked).toContain('POST /v1/grant');
      // The neighbour's chunks came through the relay.
      expect(a.asked).toContain('POST /v1/chunks/fetch');
      for (const p of [a, b]) expect(p.asked).toContain('POST /v1/stage-stream');
      const release = r.ok ? r.value.release : '';
      for (const dir of ['agent', 'agent2'])
        expect(await tree(path.join(root, dir, 'releases', release))).toEqual(await tree(art));
    } finally {
      await second.shutdown();
    }
  });

  it.each([
    ['an agent from before the streamed stage (404)', ['/v1/stage-stream', '/v1/prepare'], []],
    ['a streamed stage broken unanswered, as the 404 of an older agent can be', [], ['/v1/stage-stream']],
  ])('falls back to the whole manifest with %s', async (_, missing, reset) => {
    const { url, asked } = await agentBehindProxy(missing, reset);
    const r = await deploy(url, 'v1');
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    expect(asked).toContain('POST /v1/stage-stream');
    expect(asked).toContain('POST /v1/stage');
    const release = r.ok ? r.value.release : '';
    expect(await tree(path.join(root, 'agent', 'releases', release))).toEqual(await tree(art));
    expect(await leftovers()).toEqual({ staging: [], releases: [release] });
  });

  it('refuses entries that do not hash to the claimed release id, keeping nothing', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const walked = await readArtifact(art, 'v1');
    if (!walked.ok) throw new Error(walked.error);
    const { manifest, chunks } = walked.value;
    const origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    try {
      const feed = new StreamFeed();
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
      feed.add(manifest.entries, manifest.entries.length);
      const right = releaseIdOf(manifest);
      feed.end(`v1-${'0'.repeat(12)}` as ReleaseId);
      const r = await out;
      expect(r.kind).toBe('staged');
      const result = r.kind === 'staged' ? r.result : undefined;
      expect(result?.ok).toBe(false);
      expect(result && !result.ok && result.error).toContain(
        `does not match the manifest streamed (${right})`,
      );
    } finally {
      await origin.close();
    }
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
    expect((await agent.status()).releases).toEqual([]);
  });

  it.each([
    ['a path that climbs out', JSON.stringify({ type: 'dir', path: '../evil', mode: 0o755 }), 'refused path'],
    ['a line that is not JSON', '{"type":"dir","path":', 'not valid JSON'],
    [
      'a file below a symlink',
      `${JSON.stringify({ type: 'symlink', path: 'l', target: '.' })}\n${JSON.stringify({ type: 'file', path: 'l/x', mode: 0o644, size: 0, chunks: [] })}`,
      'must come after its parent folder',
    ],
    [
      'an entry of unknown shape',
      JSON.stringify({ type: 'fifo', path: 'p' }),
      'stage stream line 3: manifest refused: unknown entry type "fifo"',
    ],
    ['a line that is no object', '[1,2]', 'stage stream line 3: a manifest entry must be an object'],
    [
      'a file whose chunks do not add up',
      JSON.stringify({ type: 'file', path: 'f', mode: 0o644, size: 5, chunks: [[`${'a'.repeat(64)}`, 4]] }),
      'do not add up to its size',
    ],
  ])('refuses %s with a clear error, keeping nothing', async (_what, bad, message) => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lines = [header(), JSON.stringify({ type: 'dir', path: 'ok', mode: 0o755 }), ...bad.split('\n')];
    lines.push(JSON.stringify({ release: `v1-${'0'.repeat(12)}`, entries: lines.length - 1 }));
    const r = await postLines(url, lines);
    expect(r.status).toBe(200);
    const last = JSON.parse(r.text.trim().split('\n').pop()!) as { type: string; message: string };
    expect(last.type).toBe('error');
    expect(last.message).toContain(message);
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
  });

  it('takes the entry lines of one piece in order, stopping at a refused one (nothing after it made)', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dirs = (from: number) =>
      Array.from({ length: 300 }, (_, i) =>
        JSON.stringify({ type: 'dir', path: `d${from + i}`, mode: 0o755 }),
      );
    // One gzipped body: the agent reads hundreds of lines from each piece of it.
    const lines = [
      header(),
      ...dirs(0),
      JSON.stringify({ type: 'dir', path: 'd0', mode: 0o755 }),
      ...dirs(300),
    ];
    lines.push(JSON.stringify({ release: `v1-${'0'.repeat(12)}`, entries: lines.length - 1 }));
    const r = await postLines(url, lines);
    expect(r.status).toBe(200);
    const last = JSON.parse(r.text.trim().split('\n').pop()!) as { type: string; message: string };
    expect(last).toEqual({
      type: 'error',
      message: 'stage stream line 302: manifest refused: duplicate path "d0"',
    });
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
  });

  it('sweeps a stream folder a crash left when the agent next opens', async () => {
    const dir = path.join(root, 'crashed');
    await mkdir(path.join(dir, 'staging', '.stream-0123456789ab', 'lib'), { recursive: true });
    await writeFile(path.join(dir, 'staging', '.stream-0123456789ab', 'lib', 'half'), 'half');
    const reopened = await Agent.open({ dir, token: TOKEN, keep: 2 });
    try {
      expect(await readdir(path.join(dir, 'staging'))).toEqual([]);
      expect((await reopened.status()).releases).toEqual([]);
    } finally {
      await reopened.shutdown();
    }
  });

  it('stops reading a refused stream once the rest passes the size limit (no endless drain)', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0, { ...DEFAULT_LIMITS, jsonBytes: 64 * 1024 });
    servers.keep(server);
    const port = (server.address() as AddressInfo).port;
    // A sender that never ends its body, whatever the answer: without the limit the agent would
    // read it forever and this test would time out.
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        gzip.destroy();
        resolve(text);
      };
      const req = request(`http://127.0.0.1:${port}/v1/stage-stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-encoding': 'gzip' },
      });
      const gzip = createGzip();
      gzip.pipe(req);
      req.on('response', (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
      });
      // Ends only when the agent closes the connection: the answer's end alone stops nothing.
      req.on('error', finish).on('close', finish);
      gzip.write(`${header()}\n${JSON.stringify({ type: 'dir', path: '../evil', mode: 0o755 })}\n`);
      const pad = `${'x'.repeat(16 * 1024)}\n`;
      const more = () => {
        while (!done && gzip.write(pad)) {}
        if (!done) gzip.once('drain', more);
      };
      gzip.flush(more);
    });
    const last = JSON.parse(answer.trim().split('\n').pop()!) as { type: string; message: string };
    expect(last).toMatchObject({ type: 'error' });
    expect(last.message).toContain('refused path');
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
  });

  it('takes a body in zstd frames split across pieces, and refuses one broken inside a frame', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dirs = Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({ type: 'dir', path: `d${i}`, mode: 0o755 }),
    );
    const lines = [
      header(),
      ...dirs,
      JSON.stringify({ release: `v1-${'0'.repeat(12)}`, entries: dirs.length }),
    ];
    // Every line read: the entries came whole, and only their release id is wrong.
    const r = await postLines(url, lines, false, { frames: 300 });
    expect(r.status).toBe(200);
    const last = JSON.parse(r.text.trim().split('\n').pop()!) as { type: string; message: string };
    expect(last.type).toBe('error');
    expect(last.message).toMatch(/^release id v1-0+ does not match the manifest streamed/);
    // Its last frame cut short: refused as broken off, nothing kept.
    const cut = await postLines(url, lines, false, { frames: 300, drop: 3 });
    const said = JSON.parse(cut.text.trim().split('\n').pop()!) as { type: string; message: string };
    expect(said).toEqual({ type: 'error', message: 'the stage stream broke off inside a zstd frame' });
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
  });

  it('refuses a zstd body whose text passes the size limit, decoding no further', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0, { ...DEFAULT_LIMITS, jsonBytes: 64 * 1024 });
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // 8 MB of text in a frame of a few hundred bytes.
    const r = await postLines(url, [header(), 'x'.repeat(8 * 1024 * 1024)], false, { frames: 2 });
    expect(r.text).toContain(`the stage stream exceeds ${64 * 1024} bytes`);
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
  });

  it('refuses a bad header before the answer begins (400)', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await postLines(url, [JSON.stringify({ protocol: DEPLOY_PROTOCOL, version: 'v1' })]);
    expect(r.status).toBe(400);
    expect(r.text).toContain('bad stage stream header');
  });

  it('leaves nothing of a stream broken off, and a deploy after it works', async () => {
    const server = await listenAgent(agent, '127.0.0.1', 0);
    servers.keep(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lines = [
      header(),
      JSON.stringify({ type: 'dir', path: 'lib', mode: 0o755 }),
      JSON.stringify({ type: 'file', path: 'lib/e', mode: 0o644, size: 0, chunks: [] }),
    ];
    await postLines(url, lines, true);
    // The agent notices the broken request and removes the stream's folder.
    for (let i = 0; i < 200; i++) {
      if (!(await leftovers()).staging.some((n) => n.startsWith('.stream-'))) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await leftovers()).toEqual({ staging: [], releases: [] });
    const r = await deploy(url, 'v1');
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    const release = r.ok ? r.value.release : '';
    expect(await tree(path.join(root, 'agent', 'releases', release))).toEqual(await tree(art));
  });
});
