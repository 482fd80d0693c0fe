/**
 * A release's manifest file is the staging's own, given the release's name by a link once made
 * durable (assembly.ts), or written anew when the staging's file is gone: either way it names the
 * release's manifest, outlives the staging, and an agent opened again on the folder keeps it.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { validateManifest } from '../manifest.js';
import { Agent } from './agent.js';
import { Layout } from './layout.js';
import { readStats } from './release-stats.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-release-manifest-', token: TOKEN });
});
afterEach(() => rig.close());

const dir = () => path.join(rig.root, 'agent');

async function expectKept(release: string, manifest: unknown) {
  const file = path.join(dir(), 'manifests', `${release}.json`);
  // One name left: the staging's is gone with the staging.
  expect((await stat(file)).nlink).toBe(1);
  await expect(stat(path.join(dir(), 'staging', `${release}.json`))).rejects.toThrow();
  const parsed = validateManifest(JSON.parse(await readFile(file, 'utf8')));
  expect(parsed.ok && parsed.value).toEqual(manifest);
}

describe('a release manifest', () => {
  it('is the staging manifest linked into place, and survives a reopen', async () => {
    // Many chunks: the staging's manifest is written beside the fetch (staging-area.ts create)
    // and may land after the first chunk on a busy machine; its inode is taken at the first chunk
    // that finds it.
    const noise = randomBytes(2 * 1024 * 1024).toString('hex');
    const v1 = await rig.artifact('v1', { 'a.txt': 'one', 'lib/b.js': noise });
    let staged: number | undefined;
    const s1 = await rig.agent.stage(
      { release: v1.release, manifest: v1.manifest, sources: [v1.origin] },
      (p) => {
        if (p.chunksFetched === 0 || staged !== undefined) return;
        try {
          staged = statSync(path.join(dir(), 'staging', `${v1.release}.json`)).ino;
        } catch {
          // Not written yet.
        }
      },
    );
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);
    await expectKept(v1.release, v1.manifest);
    expect((await stat(path.join(dir(), 'manifests', `${v1.release}.json`))).ino).toBe(staged);
    const again = await Agent.open({ dir: dir(), token: TOKEN });
    expect(again.manifestOf(v1.release)).toEqual(v1.manifest);
    await again.shutdown();
  });

  it('is written when the staging manifest went missing before the assembly', async () => {
    // Removed at the first chunk that finds it written (it is written beside the fetch).
    const noise = randomBytes(2 * 1024 * 1024).toString('hex');
    const v1 = await rig.artifact('v1', { 'a.txt': 'one', 'lib/b.js': noise });
    let removed = false;
    const s1 = await rig.agent.stage(
      { release: v1.release, manifest: v1.manifest, sources: [v1.origin] },
      (p) => {
        if (p.chunksFetched === 0 || removed) return;
        try {
          rmSync(path.join(dir(), 'staging', `${v1.release}.json`));
          removed = true;
        } catch {
          // Not written yet.
        }
      },
    );
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);
    expect(removed).toBe(true);
    await expectKept(v1.release, v1.manifest);
    const again = await Agent.open({ dir: dir(), token: TOKEN });
    expect(again.manifestOf(v1.release)).toEqual(v1.manifest);
    await again.shutdown();
  });

  it("hands the last assembly's file stats over as written to disk", async () => {
    const v1 = await rig.artifact('v1', { 'a.txt': 'one', 'lib/b.js': 'b'.repeat(3000) });
    const s1 = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);
    const layout = new Layout(dir());
    // Asked twice: the first answer is the assembly's own (nothing asked before), the second
    // parsed from the file.
    const handed = await readStats(layout, v1.release);
    const read = await readStats(layout, v1.release);
    expect(handed).toEqual(read);
    const st = await stat(path.join(dir(), 'releases', v1.release, 'lib/b.js'));
    expect(read?.['lib/b.js']).toEqual([st.size, st.mtimeMs]);
  });
});
