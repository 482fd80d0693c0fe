/**
 * An agent killed with SIGKILL while staging a first deploy (failpoint `agent:placed`: after its
 * Nth chunk written straight into the staging release's file). When it starts again it reads back
 * and hashes what the staging folder holds: the chunks that were written are not fetched again,
 * a chunk whose bytes were changed in the meantime is (not trusted), and the release comes out
 * byte-identical to the artifact. Agents are real processes of the built CLI.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../src/deploy/agent-client.js';
import { readArtifact } from '../../src/deploy/artifact.js';
import { chunkIdOf } from '../../src/deploy/fastcdc.js';
import { releaseIdOf } from '../../src/deploy/manifest.js';
import { type Origin, startOrigin } from '../../src/deploy/origin.js';
import type { ChunkId } from '../../src/deploy/types.js';
import { agentStarter } from './agent-process.js';

const TOKEN = 'kill-agent-token-0123456789';

let root: string;
let origin: Origin;
const procs: ChildProcess[] = [];

const startAgent = agentStarter(() => path.join(root, 'token'), procs);

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-kill-agent-'));
  await writeFile(path.join(root, 'token'), TOKEN);
});

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await origin?.close();
  await rm(root, { recursive: true, force: true });
});

describe('agent killed while staging', { timeout: 120_000 }, () => {
  it('resumes from the chunks written into the staging release, refetching only what fails its hash', async () => {
    const art = path.join(root, 'art');
    await mkdir(path.join(art, 'assets'), { recursive: true });
    const big = randomBytes(6 * 1024 * 1024);
    await writeFile(path.join(art, 'big.bin'), big);
    await writeFile(path.join(art, 'assets', 'a.txt'), 'hello\n');
    const a = await readArtifact(art, 'v1');
    if (!a.ok) throw new Error(a.error);
    const { manifest, chunks } = a.value;
    const release = releaseIdOf(manifest);
    origin = await startOrigin({ chunks, token: 'origin-token-0123456789' });
    const file = manifest.entries.find((e) => e.type === 'file' && e.path === 'big.bin');
    if (file?.type !== 'file') throw new Error('no big.bin in the manifest');
    const total = new Set(
      [...manifest.entries.flatMap((e) => (e.type === 'file' ? e.chunks : []))].map((c) => c[0]),
    ).size;
    expect(file.chunks.length).toBeGreaterThan(40);

    const dir = path.join(root, 'agent');
    const killed = await startAgent(dir, 'agent:placed:20');
    const exited = once(killed.proc, 'exit');
    const first = await new AgentClient(killed.url, TOKEN).stage({ release, manifest, sources: [origin] });
    expect(first.ok).toBe(false);
    await exited;
    expect(killed.proc.signalCode).toBe('SIGKILL');

    // What the staging folder holds now, chunk by chunk, as the test itself hashes it.
    const staged = path.join(dir, 'staging', release, 'big.bin');
    const bytes = await readFile(staged);
    const intact: { id: ChunkId; offset: number }[] = [];
    let offset = 0;
    for (const [id, size] of file.chunks) {
      if (offset + size <= bytes.length && chunkIdOf(bytes.subarray(offset, offset + size)) === id)
        intact.push({ id, offset });
      offset += size;
    }
    // The small file's one chunk may have landed too.
    const small = await readFile(path.join(dir, 'staging', release, 'assets', 'a.txt'), 'utf8').catch(
      () => '',
    );
    const smallIntact = small === 'hello\n' ? 1 : 0;
    // At least the 20 chunks placed before the kill (others may have landed meanwhile).
    expect(intact.length + smallIntact).toBeGreaterThanOrEqual(20);
    expect(intact.length).toBeLessThan(file.chunks.length);
    // Nothing went through the chunk pool: every received byte was written once, into the release.
    expect((await readdir(path.join(dir, 'chunks'))).filter((n) => n.startsWith('pack-'))).toEqual([]);

    // One of them changed behind the agent's back: it must not be trusted.
    const tampered = intact[Math.floor(intact.length / 2)]!;
    const fh = await open(staged, 'r+');
    await fh.write(Buffer.from([bytes[tampered.offset]! ^ 0xff]), 0, 1, tampered.offset);
    await fh.close();

    const again = await startAgent(dir);
    const client = new AgentClient(again.url, TOKEN);
    const status = await client.status();
    if (!status.ok) throw new Error(status.error);
    expect(status.value.pooled).toBe(intact.length + smallIntact - 1);
    const second = await client.stage({ release, manifest, sources: [origin] });
    if (!second.ok) throw new Error(second.error);
    // Exactly what the scan could not vouch for crossed the network again, the tampered chunk included.
    expect(second.value.chunksFetched).toBe(total - (intact.length + smallIntact - 1));
    expect(second.value.chunksReused).toBe(intact.length + smallIntact - 1);
    expect((await readFile(path.join(dir, 'releases', release, 'big.bin'))).equals(big)).toBe(true);
    expect(await readFile(path.join(dir, 'releases', release, 'assets', 'a.txt'), 'utf8')).toBe('hello\n');
    // The staging folder became the release: nothing of it is left behind.
    expect(
      await readFile(path.join(dir, 'staging', `${release}.json`)).catch(() => undefined),
    ).toBeUndefined();
    again.proc.kill('SIGTERM');
    await once(again.proc, 'exit');
  });
});
