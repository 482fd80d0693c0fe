/**
 * Deploy fault injection (issue 10): `slipway deploy` killed with SIGKILL at a named point in each
 * phase (stage, activate, gate, rollback) and `slipway rollback` killed midway; then the next
 * command. No record stays `running` (the killed one is `interrupted`), and after `slipway
 * rollback` or a fresh deploy every host runs one release: the one live before the interruption.
 * Also two deploys at once (defect 5): the second fails with --no-wait, or waits and runs after.
 * One fleet of three real agent processes for the file; the scenarios build on each other.
 */

import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import {
  appVersions,
  type FleetAgent,
  fleetVersions,
  startFleet,
  stopFleet,
  TOKEN,
  until,
  writeApp,
} from './deploy-fleet.js';

interface Row {
  id: string;
  kind: string;
  version: string;
  status: string;
  startedAt: string;
  durationMs: number | null;
  reason: string | null;
}

let root: string;
let agents: FleetAgent[] = [];
let gateFile: string;

const run = (args: string[], failpoint?: string) =>
  runCli(args, { cwd: root, env: { SLIPWAY_FAILPOINT: failpoint }, timeoutMs: 150_000 });

async function deploy(version: string, opts: { failpoint?: string; failHealth?: boolean } = {}) {
  await writeApp(path.join(root, 'dist'), version, { failHealth: opts.failHealth });
  return run(['deploy', 'prod', '--version', version], opts.failpoint);
}

/** Recorded deployments, newest first (`slipway deployments` is itself a "next command"). */
async function records(): Promise<Row[]> {
  const r = await run(['deployments', 'prod', '--json', '-n', '100']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Row[];
}

const summary = (rows: Row[]) => rows.map((d) => `${d.kind}:${d.version}:${d.status}`);

async function expectFleetOn(version: string): Promise<void> {
  expect(await fleetVersions(agents)).toEqual([version, version, version]);
  // Serving, not only switched: every app answers with that version.
  await until(`every app to answer ${version}`, async () =>
    (await appVersions(agents)).every((v) => v === version),
  );
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'slipway-kill-deploy-'));
  ({ agents, gateFile } = await startFleet(root));
}, 60_000);

afterAll(async () => {
  await stopFleet(agents);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('deploy killed in each phase', { timeout: 150_000 }, () => {
  it('deploys v1 then v2 everywhere', async () => {
    for (const v of ['v1', 'v2']) {
      const r = await deploy(v);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    await expectFleetOn('v2');
  });

  it('killed while staging: interrupted, and rollback stays on v2 (not v1)', async () => {
    const killed = await deploy('v3', { failpoint: 'deploy:stage' });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    const rows = await records();
    expect(summary(rows).slice(0, 3)).toEqual([
      'deploy:v3:interrupted',
      'deploy:v2:success',
      'deploy:v1:success',
    ]);
    expect(rows[0]!.reason).toMatch(/process \(pid \d+ on .+\) is gone/);

    const back = await run(['rollback', 'prod']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toMatch(/v3 was interrupted: returning every host of prod to v2/);
    await expectFleetOn('v2');
    expect(summary(await records())[0]).toBe('rollback:v2:success');
  });

  it('killed while activating a mixed fleet: rollback returns every host to v2', async () => {
    const killed = await deploy('v3', { failpoint: 'deploy:activate' });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    const mixed = await fleetVersions(agents);
    expect(mixed[2], 'the second wave never switched').toBe('v2');
    expect(mixed.slice(0, 2), 'the canary switched').toContain('v3');

    const back = await run(['rollback', 'prod']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stderr).toMatch(/was interrupted: its process is gone/);
    await expectFleetOn('v2');
    const rows = await records();
    expect(summary(rows).slice(0, 2)).toEqual(['rollback:v2:success', 'deploy:v3:interrupted']);
    expect(rows.some((d) => d.status === 'running')).toBe(false);
  });

  it('killed in the health gate: a fresh deploy finishes on one release', async () => {
    const killed = await deploy('v3', { failpoint: 'deploy:gate' });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect(await fleetVersions(agents)).toEqual(['v3', 'v3', 'v2']);

    const again = await deploy('v3');
    expect(again.code, again.stdout + again.stderr).toBe(0);
    await expectFleetOn('v3');
    const rows = await records();
    expect(summary(rows).slice(0, 2)).toEqual(['deploy:v3:success', 'deploy:v3:interrupted']);
    expect(rows.some((d) => d.status === 'running')).toBe(false);
  });

  it('killed while rolling back a failing release: rollback returns to v3', async () => {
    const killed = await deploy('v4', { failpoint: 'deploy:rollback', failHealth: true });
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect((await fleetVersions(agents))[2]).toBe('v3');

    const back = await run(['rollback', 'prod']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    await expectFleetOn('v3');
    const rows = await records();
    expect(summary(rows).slice(0, 2)).toEqual(['rollback:v3:success', 'deploy:v4:interrupted']);
    expect(rows.some((d) => d.status === 'running')).toBe(false);
  });

  it('slipway rollback killed midway is finished by the next rollback', async () => {
    const v5 = await deploy('v5');
    expect(v5.code, v5.stdout + v5.stderr).toBe(0);
    await expectFleetOn('v5');
    const killed = await run(['rollback', 'prod'], 'rollback:activate');
    expect(killed.signal, killed.stdout + killed.stderr).toBe('SIGKILL');
    expect(await fleetVersions(agents)).toContain('v3');

    const back = await run(['rollback', 'prod']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(back.stdout).toMatch(/finishing the interrupted rollback of prod to v3/);
    await expectFleetOn('v3');
    const rows = await records();
    expect(summary(rows).slice(0, 3)).toEqual([
      'rollback:v3:success',
      'rollback:v3:interrupted',
      'deploy:v5:success',
    ]);
  });
});

describe('one deployment per environment', { timeout: 150_000 }, () => {
  it('a second deploy fails with --no-wait, or waits for the first and runs after it', async () => {
    // Hold the first deployment in its health gate: the new apps wait for the gate file.
    await rm(gateFile, { force: true });
    await writeApp(path.join(root, 'dist'), 'v6');
    const first = spawnCli(['deploy', 'prod', '--version', 'v6'], { cwd: root, timeoutMs: 150_000 });
    await until(
      'the first deploy to switch the canary',
      async () => (await fleetVersions(agents))[0] === 'v6',
    );
    const during = await records();
    expect(summary(during)[0], 'a live deployment is not marked interrupted').toBe('deploy:v6:running');

    await writeApp(path.join(root, 'dist'), 'v7');
    const refused = await run(['deploy', 'prod', '--version', 'v7', '--no-wait']);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toMatch(/environment prod is being deployed by d-\S+ \(pid \d+ on [^,]+, since/);
    // It changed nothing: no record, no host moved, the agents still locked by the first.
    expect(summary(await records())[0]).toBe('deploy:v6:running');
    const status = await fetch(`${agents[2]!.url}/v1/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(((await status.json()) as { lock: { holder: string } | null }).lock?.holder).toBe(during[0]!.id);

    const second = spawnCli(['deploy', 'prod', '--version', 'v7'], { cwd: root, timeoutMs: 150_000 });
    await until('the second deploy to wait', () => /waiting for it to finish/.test(second.stderr()));
    await writeFile(gateFile, 'open\n');
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    await expectFleetOn('v7');
    const rows = await records();
    expect(summary(rows).slice(0, 2)).toEqual(['deploy:v7:success', 'deploy:v6:success']);
    // Strictly one after the other: the second began after the first had ended.
    const [v7, v6] = rows;
    expect(Date.parse(v7!.startedAt)).toBeGreaterThanOrEqual(
      Date.parse(v6!.startedAt) + (v6!.durationMs ?? 0),
    );
  });
});
