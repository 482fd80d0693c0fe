/**
 * A deploy to a lone host takes the agent's lock when it first changes the host, its redeploy
 * exchange taking and giving it back itself (deploy/first-change-hold.ts), through the CLI and a
 * real agent process: with another deployment holding the agent, `--no-wait` refuses before
 * anything changes and a waiting deploy says whom it waits for, changes nothing meanwhile, and
 * lands once the holder lets go; every deploy leaves the agent unlocked.
 */
import { readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Workspace, waitFor, workspace } from '../helpers/cli.js';
import { type AgentProc, loneTargetPipeline, startAgentOnFreePorts, stopAgent } from './rig.js';

const TOKEN = 'lone-host-lock-token-0123456789ab';
const made: Workspace[] = [];
let agent: AgentProc | undefined;
afterAll(async () => {
  if (agent) await stopAgent(agent);
  for (const w of made) w.cleanup();
});

/** POST or GET on the agent's API with the token. */
async function call(
  route: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL(route, agent!.url), {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const current = () => readlinkSync(path.join(agent!.dir, 'current'));
const lockOf = async () => (await call('/v1/status')).json.lock;

describe('a lone host’s deploy lock', () => {
  it('is waited for when another deployment holds it, and never left behind', async () => {
    const w = workspace();
    made.push(w);
    const token = w.write('agent.token', `${TOKEN}\n`);
    agent = await startAgentOnFreePorts({ name: 't1', region: 'eu', dir: w.path('agent') }, token);
    w.pipeline(loneTargetPipeline(agent.url));
    w.write('dist/index.html', '<h1>one</h1>\n');
    const env = { SLIPWAY_DAEMON: '0' };
    const first = await w.run(['deploy', 'prod', '--version', 'v1'], { env });
    expect(first.code, first.stderr).toBe(0);
    const v1 = current();
    expect(await lockOf()).toBeNull();

    // Another deployment (another store: the agent's lock is all that stops it) holds the host.
    const held = await call('/v1/lock', { holder: 'd-elsewhere', owner: 'another laptop', ttlMs: 120_000 });
    expect(held.status).toBe(200);
    w.write('dist/index.html', '<h1>two</h1>\n');
    const refused = await w.run(['deploy', 'prod', '--version', 'v2', '--no-wait'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /agent t1: this host is locked by deployment d-elsewhere \(another laptop\)/,
    );
    expect(current()).toBe(v1);
    w.write('dist/index.html', '<h1>one</h1>\n');

    // Waiting: an unchanged redeploy (its exchange refused) and then a change, one after another.
    for (const version of ['v3', 'v4']) {
      if (version === 'v4') {
        expect(
          (await call('/v1/lock', { holder: 'd-elsewhere', owner: 'another laptop', ttlMs: 120_000 })).status,
        ).toBe(200);
        w.write('dist/index.html', '<h1>four</h1>\n');
      }
      const before = current();
      const waiting = w.spawn(['deploy', 'prod', '--version', version], { env, timeoutMs: 120_000 });
      await waitFor(() => /locked by deployment d-elsewhere.*waiting/.test(waiting.stderr()), {
        timeoutMs: 60_000,
        what: `deploy ${version} to say it waits`,
      });
      // Nothing changed while it waited.
      expect(current()).toBe(before);
      expect((await call('/v1/unlock', { holder: 'd-elsewhere' })).status).toBe(200);
      const r = await waiting.done;
      expect(r.code, r.stderr).toBe(0);
      expect(current()).not.toBe(before);
      expect(current()).toMatch(new RegExp(`releases/${version}-`));
      expect(await lockOf()).toBeNull();
    }

    // Unchanged, nobody in the way: one exchange that takes and gives back the lock.
    const again = await w.run(['deploy', 'prod', '--version', 'v5'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(current()).toMatch(/releases\/v5-/);
    expect(await lockOf()).toBeNull();
  });
});
