/**
 * A run's listeners are attached in one place, before anything can emit: a warning the cache
 * gives while it is being built (a remote without a team) reaches the terminal and the JSON
 * summary alike.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineYaml, readSummary, type Workspace, workspace } from '../helpers/cli.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

describe('run subscribers', () => {
  it('a warning from building the cache is on the terminal and in the summary', async () => {
    const w = workspace(pipelineYaml({ a: { run: 'echo hi' } }));
    made.push(w);
    // Port 9 (discard) on loopback: never asked, since without a team the remote is not used.
    const r = await w.run(['run', '--summary', 'summary.json'], {
      env: { SLIPWAY_REMOTE_CACHE_URL: 'http://127.0.0.1:9', SLIPWAY_REMOTE_CACHE_TEAM: '' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/remote cache http:\/\/127\.0\.0\.1:9 needs a team/);
    const summary = readSummary(w);
    expect(summary.warnings).toEqual([expect.stringMatching(/needs a team/)]);
  });
});
