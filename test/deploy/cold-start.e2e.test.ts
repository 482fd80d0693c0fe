/**
 * `slipway deploy` run here (no daemon) loads the cold deploy bundle compiled from a V8 code cache
 * (src/cli/cold-start.ts): its answers are the ES modules' answers, byte for byte, whether the
 * cache is missing (the first start leaves a mark, the second writes it), present, or corrupt;
 * other commands never touch it. No agent is needed: every case ends before a host is contacted.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../helpers/cli.js';
import { deadAgentWorkspace } from '../helpers/dead-agent-workspace.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

function env(windows: unknown): Workspace {
  const ws = deadAgentWorkspace(windows);
  made.push(ws);
  return ws;
}

describe('the cold deploy bundle', () => {
  it('answers as the ES modules do, with its code cache missing, present or corrupt', async () => {
    const ws = env(['Mon-Fri 02:00-05:00 UTC', 'Mon-Fri 2am-5am']);
    const cache = ws.path('v8');
    const cachedFiles = () => readdirSync(cache).filter((n) => n.endsWith('.v8'));
    // A deploy that gets to its work (the agent is dead: it fails staging, exit 1) writes the
    // cache at its second start without one; the cases after it use it, then a corrupt one.
    const dead = env('daily 00:00-23:59 UTC');
    // Rewritten before each, so that each parses it: a first deploy that read it more than 2 s
    // after it was written (a loaded machine) kept its snapshot (state/racy.ts), and the second
    // then loaded no pipeline code.
    const pipelineText = readFileSync(dead.path('slipway.yml'), 'utf8');
    const deployDead = () => {
      dead.write('slipway.yml', pipelineText);
      return dead.run(['deploy', 'prod'], { env: { SLIPWAY_CODE_CACHE: cache } });
    };
    expect((await deployDead()).code).toBe(1);
    expect(cachedFiles()).toHaveLength(0);
    expect((await deployDead()).code).toBe(1);
    // The bundle's and its pipeline loader's (src/cli/cold-chunk.ts: the workspace is new, each
    // deploy parses slipway.yml).
    expect(cachedFiles().sort()).toEqual([
      expect.stringMatching(/^cold-config\.cjs-/),
      expect.stringMatching(/^cold-deploy\.cjs-/),
    ]);
    const cases = [
      ['deploy', 'prod'], // a config error: file:line:col, exit 2
      ['deploy', 'prd'], // no such environment: did you mean, exit 2
      ['deploy', 'prod', '--max-rate', 'fast'], // a usage error
      ['deploy', '--help'],
      ['deploy'], // a missing argument (commander)
    ];
    for (const args of cases) {
      const esm = await ws.run(args, { env: { SLIPWAY_CODE_CACHE: 'off' } });
      const runs = [await ws.run(args, { env: { SLIPWAY_CODE_CACHE: cache } })];
      const wholes = cachedFiles().map(
        (n) => [path.join(cache, n), readFileSync(path.join(cache, n))] as const,
      );
      for (const [file, whole] of wholes) {
        const bytes = Buffer.from(whole);
        bytes[bytes.length >> 1]! ^= 0x55;
        writeFileSync(file, bytes);
      }
      runs.push(await ws.run(args, { env: { SLIPWAY_CODE_CACHE: cache } }));
      // Not rewritten by a run that used a sliver of the bundle: put the whole ones back.
      for (const [file, whole] of wholes) writeFileSync(file, whole);
      for (const r of runs) expect({ ...r, args }).toEqual({ ...esm, args });
    }
    // Without any cache, and with the mark left (the second start): the same answers.
    for (const args of cases) {
      rmSync(cache, { recursive: true, force: true });
      const esm = await ws.run(args, { env: { SLIPWAY_CODE_CACHE: 'off' } });
      for (let i = 0; i < 2; i++) {
        const r = await ws.run(args, { env: { SLIPWAY_CODE_CACHE: cache } });
        expect({ ...r, args }).toEqual({ ...esm, args });
      }
      expect(cachedFiles()).toHaveLength(0);
    }
    const bad = await ws.run(['deploy', 'prod'], { env: { SLIPWAY_CODE_CACHE: cache } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/slipway\.yml:\d+:\d+: error: .*bad deploy window "Mon-Fri 2am-5am"/);
    expect(bad.stderr).not.toMatch(/at .*\.c?js:\d+/);
  });

  it("leaves its history store's log, synced, for the next command, which reads every deployment", async () => {
    const ws = env('daily 00:00-23:59 UTC');
    const cache = ws.path('v8');
    const logs = () => readdirSync(ws.path('.slipway')).filter((n) => /-(wal|shm)$/.test(n));
    // Both fail staging (the agent is dead) and are recorded as failed.
    for (let i = 0; i < 2; i++) {
      const r = await ws.run(['deploy', 'prod', '--version', `v${i}`], {
        env: { SLIPWAY_CODE_CACHE: cache },
      });
      expect(r.code, r.stderr).toBe(1);
      expect(logs().sort()).toEqual(['history.db-shm', 'history.db-wal']);
    }
    // The ES modules' deploy closes its store as every other command does: the log checkpointed.
    expect(
      (await ws.run(['deploy', 'prod', '--version', 'v2'], { env: { SLIPWAY_CODE_CACHE: 'off' } })).code,
    ).toBe(1);
    expect(logs()).toEqual([]);
    const listed = await ws.run(['deployments', 'prod']);
    expect(listed.code, listed.stderr).toBe(0);
    for (const v of ['v0', 'v1', 'v2']) expect(listed.stdout).toContain(` ${v} `);
  });

  it("never starts Node.js's ES module loader (bin/slipway.js and launch.cjs are CommonJS)", async () => {
    const ws = env('daily 00:00-23:59 UTC');
    const r = await ws.run(['deploy', 'prod', '--version', 'v0'], {
      env: { SLIPWAY_CODE_CACHE: ws.path('v8'), NODE_DEBUG: 'esm' },
    });
    expect(r.code, r.stderr).toBe(1); // the agent is dead
    expect(r.stderr).not.toMatch(/^ESM \d+:/m);
  });

  it('carries only the parts of zod its pipeline loader uses', () => {
    // `import * as z from 'zod'` (src/config/*): with `import { z }` the bundle kept all of zod,
    // every locale and the JSON Schema converters included (cold-config.cjs 811 KB, now ~370),
    // read and cached at every cold deploy that parses slipway.yml.
    const loader = readFileSync(path.resolve('dist/cli/cold-config.cjs'), 'latin1');
    expect(loader).toContain('Invalid input: expected ');
    expect(loader).not.toContain('Ongeldige invoer'); // zod's Dutch
    expect(loader).not.toContain('fromJSONSchema');
  });

  it('is not used by other commands', async () => {
    const ws = env('daily 00:00-23:59 UTC');
    const cache = ws.path('v8');
    const r = await ws.run(['validate'], { env: { SLIPWAY_CODE_CACHE: cache } });
    expect(r.code, r.stderr).toBe(0);
    expect(() => readdirSync(cache)).toThrow();
  });
});
