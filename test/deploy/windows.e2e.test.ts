/**
 * `environments.X.windows` from the CLI: a bad window is a located config error (exit 2); outside
 * the window `deploy --no-wait` refuses (exit 1) and `deploy` waits until stopped; `--now` and an
 * open window go on to the deployment. Windows are set relative to the current hour, hours away
 * from their edges, so the test does not depend on when it runs. No agent is needed: the window
 * is decided before any host is contacted (the agent URL points at a port nothing answers).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Workspace } from '../helpers/cli.js';
import { deadAgentWorkspace } from '../helpers/dead-agent-workspace.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

const hh = (offset: number) => `${String((new Date().getUTCHours() + offset + 24) % 24).padStart(2, '0')}:00`;

function env(windows: unknown): Workspace {
  const ws = deadAgentWorkspace(windows);
  made.push(ws);
  return ws;
}

describe('deploy windows', () => {
  it('a bad window is a config error with file:line:col and a hint (exit 2)', async () => {
    const ws = env(['Mon-Fri 02:00-05:00 UTC', 'Mon-Fri 2am-5am']);
    const r = await ws.run(['validate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/slipway\.yml:\d+:\d+: error: .*bad deploy window "Mon-Fri 2am-5am"/);
    expect(r.stderr).toMatch(/hint: write days, hours and a zone/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('outside the window --no-wait refuses, naming the next opening', async () => {
    const ws = env(`daily ${hh(6)}-${hh(8)} UTC`);
    const r = await ws.run(['deploy', 'prod', '--no-wait']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /prod is outside its deploy window \(daily .*\); the next opens .* UTC \(in 5h|prod is outside its deploy window \(daily .*\); the next opens .* UTC \(in 6h/,
    );
    expect(r.stderr).toMatch(/hint: deploy anyway with --now/);
    expect(r.stdout).not.toMatch(/staging|chunks/);
  });

  it('outside the window deploy waits, and Ctrl-C ends the wait without deploying', async () => {
    const ws = env(`daily ${hh(6)}-${hh(8)} UTC`);
    const p = ws.spawn(['deploy', 'prod']);
    const deadline = Date.now() + 60_000;
    while (!/waiting until/.test(p.stderr()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(p.stderr()).toMatch(/prod is outside its deploy window .*: waiting until/);
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped while waiting for the deploy window/);
    expect(r.stdout).not.toMatch(/staging|chunks/);
  });

  it('--now deploys outside the window, and an open window lets the deploy through', async () => {
    for (const [windows, args] of [
      [`daily ${hh(6)}-${hh(8)} UTC`, ['--now']],
      [`daily ${hh(-2)}-${hh(2)} UTC`, ['--no-wait']],
    ] as const) {
      const ws = env(windows);
      const r = await ws.run(['deploy', 'prod', ...args]);
      // Past the window: the deployment starts and fails only on the agent nobody runs.
      expect(r.stderr).not.toMatch(/deploy window/);
      expect(`${r.stdout}${r.stderr}`).toMatch(/cannot reach agent/);
    }
  });
});
