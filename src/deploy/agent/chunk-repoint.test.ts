/**
 * Settling a release re-points the chunk index's locations of the chunks it shares with kept
 * releases at itself, in place (chunk-index.ts): pruning the oldest release then forgets only
 * the chunks no kept release has, and every chunk still known reads back verified from where
 * the index says it is.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { chunkIdOf } from '../fastcdc.js';
import { chunksOf } from '../manifest.js';
import type { ChunkId } from '../types.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-repoint-', token: TOKEN });
});
afterEach(() => rig.close());

const deploy = (version: string, files: Record<string, string>) => rig.deploy(version, files);

describe('chunk locations after a prune', () => {
  it('keeps every chunk a kept release has, readable and verified, and forgets the pruned-only ones', async () => {
    // Several chunks per large file, so locations carry offsets; keep 2 prunes v1 after v3.
    const big = randomBytes(600_000).toString('base64');
    const other = randomBytes(300_000).toString('base64');
    const v1 = await deploy('v1', { 'big.txt': big, 'other.txt': other, 'app.js': 'one' });
    const v2 = await deploy('v2', { 'big.txt': big, 'other.txt': `${other}!`, 'app.js': 'two' });
    const v3 = await deploy('v3', { 'big.txt': big, 'other.txt': `${other}?`, 'app.js': 'three' });
    expect(v3.staged.chunksFetched).toBeLessThan(chunksOf(v3.manifest).size);
    const status = await rig.client.status();
    expect(status.ok && status.value.releases.length).toBe(2);

    const kept = new Set<ChunkId>([...chunksOf(v2.manifest).keys(), ...chunksOf(v3.manifest).keys()]);
    const prunedOnly = [...chunksOf(v1.manifest).keys()].filter((c) => !kept.has(c));
    expect(prunedOnly.length).toBeGreaterThan(0);
    expect(rig.agent.index.size).toBe(kept.size);
    for (const c of prunedOnly) expect(rig.agent.index.has(c)).toBe(false);
    for (const c of kept) {
      const data = await rig.agent.index.read(c);
      expect(data && chunkIdOf(data), c).toBe(c);
    }
    // An edit after the prune reuses them all: only its own change is fetched.
    const v4 = await deploy('v4', { 'big.txt': big, 'other.txt': `${other}?`, 'app.js': 'four' });
    expect(v4.staged.chunksFetched).toBe(1);
  });
});
