/**
 * A copy made ahead through the agent's HTTP API (POST /v1/copy-ahead) is what the next staging
 * writes an edit in place over: the release comes out byte for byte, the earlier one untouched,
 * and no copy is left behind.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-copy-ahead-', token: TOKEN });
});

afterEach(() => rig.close());

const staging = () => path.join(rig.root, 'agent', 'staging');
const copies = () => readdirSync(staging()).filter((n) => n.startsWith('.ahead-'));

describe('a copy made ahead of a stage request', () => {
  it('is written over by the staging of an edit in place, and none is left', async () => {
    const before = randomBytes(1_500_000).toString('hex');
    const v1 = await rig.deploy('v1', { 'big.bin': before, 'small.txt': 'one' });
    const after = `${before.slice(0, 1_000_000)}${'e'.repeat(5000)}${before.slice(1_005_000)}`;
    const v2 = await rig.artifact('v2', { 'big.bin': after, 'small.txt': 'two' });
    const file = (release: string) => path.join(rig.root, 'agent', 'releases', release, 'big.bin');
    const inode = statSync(file(v1.release)).ino;

    // A path no release has is skipped; one named twice is copied once.
    const asked = await rig.client.copyAhead(['big.bin', 'not/there.bin', 'big.bin']);
    expect(asked.ok, asked.ok ? '' : asked.error).toBe(true);
    await expect.poll(copies, { timeout: 20_000 }).toHaveLength(1);

    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(await readFile(file(v2.release), 'utf8')).toBe(after);
    expect(await readFile(file(v1.release), 'utf8')).toBe(before);
    expect(statSync(file(v1.release)).ino).toBe(inode);
    expect(copies()).toEqual([]);
  });

  it('made with a shift, is written over by the staging of bytes inserted at the start, and none is left', async () => {
    const before = randomBytes(1_500_000).toString('hex');
    const v1 = await rig.deploy('v1', { 'big.bin': before });
    const after = `${'i'.repeat(4096)}${before}`;
    const v2 = await rig.artifact('v2', { 'big.bin': after });
    const file = (release: string) => path.join(rig.root, 'agent', 'releases', release, 'big.bin');
    // A shift past the earlier version's end is skipped.
    const asked = await rig.client.copyAhead(
      [],
      [
        { path: 'big.bin', at: 4096, from: 0 },
        { path: 'big.bin', at: 4096, from: 9_000_000 },
      ],
    );
    expect(asked.ok, asked.ok ? '' : asked.error).toBe(true);
    await expect.poll(copies, { timeout: 20_000 }).toHaveLength(1);
    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(await readFile(file(v2.release), 'utf8')).toBe(after);
    expect(await readFile(file(v1.release), 'utf8')).toBe(before);
    expect(copies()).toEqual([]);
  });

  it('refuses shifts that are not whole non-negative offsets', async () => {
    const res = await fetch(new URL('/v1/copy-ahead', rig.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ paths: [], shifted: [{ path: 'big.bin', at: -4096, from: 0 }] }),
    });
    expect(res.status).toBe(400);
    expect(copies()).toEqual([]);
  });

  it('refuses a body that is not a list of paths', async () => {
    const res = await fetch(new URL('/v1/copy-ahead', rig.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ paths: 'big.bin' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/copy-ahead/);
  });
});
