/**
 * A kept file the app replaces while the next release's chunks are on their way (write a new
 * file, rename it over the old: how many apps save) must not end up in that release: the agent
 * checks a kept file right before it links it, not only when the staging began.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';

const TOKEN = 'unit-test-token-0123456789';
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-replaced-', token: TOKEN });
});

afterEach(() => rig.close());

describe('a kept file replaced during a staging', () => {
  it('is not linked into the new release, which gets the bytes of its manifest', async () => {
    const keep = randomBytes(20_000).toString('hex');
    const file = (release: string, p: string) => path.join(rig.root, 'agent', 'releases', release, p);
    const v1 = await rig.artifact('v1', { 'keep.txt': keep, 'app.js': 'one' });
    const s1 = await rig.client.stage({ release: v1.release, manifest: v1.manifest, sources: [v1.origin] });
    expect(s1.ok, s1.ok ? '' : s1.error).toBe(true);

    // v2 changes app.js only: keep.txt would be linked from v1, and one chunk is fetched.
    const v2 = await rig.artifact('v2', { 'keep.txt': keep, 'app.js': 'two' });
    const other = 'x'.repeat(keep.length);
    let replaced = false;
    const s2 = await rig.agent.stage(
      { release: v2.release, manifest: v2.manifest, sources: [v2.origin] },
      (p) => {
        // The first chunk has arrived: the stage has looked at v1's files, the assembly has not.
        if (p.chunksFetched > 0 && !replaced) {
          replaced = true;
          const kept = file(v1.release, 'keep.txt');
          writeFileSync(`${kept}.new`, other);
          renameSync(`${kept}.new`, kept);
        }
      },
    );
    expect(s2.ok, s2.ok ? '' : s2.error).toBe(true);
    expect(replaced).toBe(true);
    expect(await readFile(file(v2.release, 'keep.txt'), 'utf8')).toBe(keep);
    expect(await readFile(file(v2.release, 'app.js'), 'utf8')).toBe('two');
    expect((await stat(file(v2.release, 'keep.txt'))).ino).not.toBe(
      (await stat(file(v1.release, 'keep.txt'))).ino,
    );
  });
});
