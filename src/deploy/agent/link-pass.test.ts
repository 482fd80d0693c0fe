/**
 * An edit links a kept release's unchanged files in one synchronous pass (link-pass.ts), in
 * several slices here: every file it links must be the kept one untouched and of the same mode;
 * the rest (changed, another mode, changed in place by the app) are written or copied anew.
 */
import { appendFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { releaseIdOf } from '../manifest.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-link-pass-', token: TOKEN });
});
afterEach(() => rig.close());

/** More files than one slice of the pass (512). */
const N = 1300;
const name = (i: number) => `f/${String(i).padStart(4, '0')}.txt`;

describe('the link pass of an edit', () => {
  it('links the untouched files of the same mode, and writes a changed, re-moded or app-edited one anew', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < N; i++) files[name(i)] = `file ${i} `.repeat(20);
    const file = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);
    const v1 = await rig.artifact('v1', files);
    const s1 = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);

    const art = await rig.artifact('v2', { ...files, [name(5)]: 'changed' });
    // Same bytes, another mode: a link would share v1's mode, so it must be a copy.
    const manifest = {
      ...art.manifest,
      entries: art.manifest.entries.map((e) =>
        e.path === name(6) && e.type === 'file' ? { ...e, mode: 0o755 } : e,
      ),
    };
    const release = releaseIdOf(manifest);
    // The app wrote into its release: that file must not be linked into the next.
    appendFileSync(file(v1.release, name(7)), 'app log line');

    const s2 = await rig.client.stage({ release, manifest, sources: [art.origin] });
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    for (let i = 0; i < N; i++) {
      const [a, b] = await Promise.all([stat(file(v1.release, name(i))), stat(file(release, name(i)))]);
      expect(b.ino === a.ino, name(i)).toBe(i !== 5 && i !== 6 && i !== 7);
    }
    expect(await readFile(file(release, name(5)), 'utf8')).toBe('changed');
    expect((await stat(file(release, name(6)))).mode & 0o777).toBe(0o755);
    expect((await stat(file(v1.release, name(6)))).mode & 0o777).not.toBe(0o755);
    expect(await readFile(file(release, name(6)), 'utf8')).toBe(files[name(6)]);
    expect(await readFile(file(release, name(7)), 'utf8')).toBe(files[name(7)]);
    expect(s2.ok && s2.value.filesCopied).toBe(N - 2);
  });
});
