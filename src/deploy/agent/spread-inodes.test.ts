import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from './agent.js';
import { spreadInodes } from './spread-inodes.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-spread-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The attribute letters `lsattr -d` shows for a folder, or undefined where it cannot tell. */
function attributes(dir: string): string | undefined {
  try {
    return execFileSync('lsattr', ['-d', dir], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).split(' ')[0];
  } catch {
    return undefined;
  }
}

describe('spreadInodes', () => {
  it('marks the folders releases are assembled in as top directories where the filesystem has them', async () => {
    // Whether this filesystem (ext2/3/4) takes the attribute at all, asked of a folder of our own.
    const probe = path.join(root, 'probe');
    mkdirSync(probe);
    const supported = (await spreadInodes(probe)).spread && attributes(probe)?.includes('T');
    const agent = await Agent.open({ dir: path.join(root, 'agent'), token: 'spread-test-token-0123456789' });
    const staging = attributes(agent.layout.staging);
    const releases = attributes(agent.layout.releases);
    await agent.shutdown();
    if (supported) {
      expect(staging).toContain('T');
      expect(releases).toContain('T');
    } else {
      // Elsewhere (tmpfs, btrfs, no chattr) the agent opens all the same, its folders untouched.
      expect(staging ?? '').not.toContain('T');
    }
  });

  it('answers a typed refusal instead of throwing for a folder that is not there', async () => {
    const r = await spreadInodes(path.join(root, 'missing'));
    expect(r.spread).toBe(false);
    if (!r.spread) expect(r.why).not.toBe('');
  });
});
