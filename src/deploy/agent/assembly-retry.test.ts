/**
 * A stage whose assembly failed half-way is retried in the same staging folder (the agent keeps
 * it for the next attempt). The failed attempt already linked unchanged files into it; the retry
 * must replace what it finds there, not stumble over it.
 */
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { chunksOf } from '../manifest.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-retry-', token: TOKEN });
});

afterEach(() => rig.close());

describe('a stage retried after its assembly failed', () => {
  it('completes, byte for byte, over what the failed assembly left in the staging folder', async () => {
    const keep = randomBytes(20_000).toString('hex');
    const old = randomBytes(300_000).toString('hex');
    const grown = `${old}${'tail'.repeat(100)}`;
    const file = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);

    const v1 = await rig.artifact('v1', { 'keep.txt': keep, 'old.txt': old });
    const s1 = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);

    // v2: keep.txt unchanged (linked from v1), new.txt made of old.txt's chunks (reused from v1's
    // file, read at assembly) and one new chunk at its end (fetched).
    const v2 = await rig.artifact('v2', { 'keep.txt': keep, 'new.txt': grown });
    const had = chunksOf(v1.manifest);
    const fresh = [...chunksOf(v2.manifest).keys()].filter((c) => !had.has(c));
    expect(fresh.length).toBeGreaterThan(0);
    expect(chunksOf(v2.manifest).size - fresh.length).toBeGreaterThan(1);
    // A source with only the new chunks; and v1's old.txt changed under the agent (as an app may
    // write into its release): the reused chunks are bad and nobody has them, so assembly fails.
    const partial = await rig.serve(new Map([...v2.chunks].filter(([c]) => fresh.includes(c))));
    await writeFile(file(v1.release, 'old.txt'), old.replace(/^./, old[0] === 'a' ? 'b' : 'a'));
    const failed = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [partial] });
    expect(failed.ok).toBe(false);
    expect(failed.ok ? '' : failed.error).toMatch(/assembling/);
    // The failed attempt linked keep.txt into the staging folder before it gave up.
    expect((await stat(path.join(rig.root, 'agent', 'staging', v2.release, 'keep.txt'))).size).toBe(
      keep.length,
    );

    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(await readFile(file(v2.release, 'keep.txt'), 'utf8')).toBe(keep);
    expect(await readFile(file(v2.release, 'new.txt'), 'utf8')).toBe(grown);
    expect(await readFile(file(v1.release, 'keep.txt'), 'utf8')).toBe(keep);
  });

  it('completes over the unchanged files a failed transfer had linked ahead (link-ahead.ts)', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`keep/${i}.txt`] = randomBytes(500).toString('hex');
    const file = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);

    const v1 = await rig.artifact('v1', files);
    const s1 = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);

    // v2: the same files and a new one whose chunk no source of the first attempt has.
    const v2 = await rig.artifact('v2', { ...files, 'new.txt': randomBytes(3000).toString('hex') });
    const nowhere = await rig.serve(new Map());
    const failed = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [nowhere] });
    expect(failed.ok).toBe(false);

    const s2 = await rig.client.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    for (const [p, text] of Object.entries(files)) {
      expect(await readFile(file(v2.release, p), 'utf8')).toBe(text);
      expect((await stat(file(v2.release, p))).ino).toBe((await stat(file(v1.release, p))).ino);
    }
    expect((await readFile(file(v2.release, 'new.txt'), 'utf8')).length).toBe(6000);
  });
});
