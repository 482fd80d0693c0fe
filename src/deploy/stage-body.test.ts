import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { stageBody } from './agent/requests.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { type Manifest, releaseIdOf } from './manifest.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import { endingOf, gzipPart, gzipPartLater, openingText } from './stage-body.js';
import type { ChunkId } from './types.js';

const a = 'a'.repeat(64) as ChunkId;
const b = 'b'.repeat(64) as ChunkId;
const manifest: Manifest = {
  format: 1,
  version: 'v "1"',
  chunking: DEFAULT_CHUNKING,
  entries: [
    { type: 'dir', path: 'lib', mode: 0o755 },
    { type: 'file', path: 'lib/app.js', mode: 0o644, size: 10, chunks: [[a, 10]] },
    { type: 'symlink', path: 'latest', target: 'lib/app.js' },
  ],
};
const sources = [{ url: 'http://127.0.0.1:1', token: 't'.repeat(32) }];

describe('stage request body', () => {
  it('reads, as the agent gunzips it, as the one JSON request it stands for', async () => {
    // The entries' JSON known, as after the deployer's release id: the opening reuses it.
    const release = releaseIdOf(manifest, true);
    const opening = await gzipPartLater(openingText({ manifest }));
    const body = Buffer.concat([opening, endingOf({ release, bases: { [b]: [a] }, sources })]);
    const read = JSON.parse(gunzipSync(body).toString('utf8'));
    expect(read).toEqual({ protocol: DEPLOY_PROTOCOL, release, manifest, bases: { [b]: [a] }, sources });
    expect(stageBody.safeParse(read).success).toBe(true);
    // The manifest sent is the one the release id names.
    expect(releaseIdOf(read.manifest)).toBe(release);
  });

  it('carries a delta instead of the manifest, and leaves out empty bases', () => {
    const manifestDelta = {
      base: releaseIdOf(manifest),
      version: 'v2',
      chunking: DEFAULT_CHUNKING,
      remove: ['latest'],
      upsert: [],
    };
    const body = Buffer.concat([
      gzipPart(openingText({ manifestDelta })),
      endingOf({ release: releaseIdOf({ ...manifest, version: 'v2' }), bases: {}, sources }),
    ]);
    const read = JSON.parse(gunzipSync(body).toString('utf8'));
    expect(read.manifestDelta).toEqual(manifestDelta);
    expect(read).not.toHaveProperty('bases');
    expect(read).not.toHaveProperty('manifest');
    expect(stageBody.safeParse(read).success).toBe(true);
  });
});
