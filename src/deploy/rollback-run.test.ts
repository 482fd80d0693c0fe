/**
 * `slipway rollback`'s run (rollback-run.ts) against real agents on 127.0.0.1: each host goes back
 * to its previous release, and a host whose switch back fails (its health check, or no release
 * to go back to) fails the rollback with its reason, as a target-failed event.
 */
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oneRegionEnvironment } from '../../test/helpers/deploy-environment.js';
import { TestServers } from '../../test/helpers/http-servers.js';
import { EventStream } from '../events.js';
import { Agent } from './agent/agent.js';
import { listenAgent } from './agent/server.js';
import { runDeployment } from './deploy.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';
import { runRollback } from './rollback-run.js';

const TOKEN = 'rollback-run-token-0123456789';
let root: string;
let art: string;
let agents: Agent[];
const servers = new TestServers();

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-rollback-'));
  art = path.join(root, 'art');
  await mkdir(art, { recursive: true });
  agents = await Promise.all(
    ['a', 'b'].map((n) => Agent.open({ dir: path.join(root, n), token: TOKEN, keep: 3 })),
  );
});
afterEach(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
  servers.closeAll();
  await rm(root, { recursive: true, force: true });
});

async function environment(healthUrl?: string): Promise<Environment> {
  const urls: string[] = [];
  for (const a of agents) {
    const server = await listenAgent(a, '127.0.0.1', 0);
    servers.keep(server);
    urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  return oneRegionEnvironment({ name: 'prod', artifact: art, token: TOKEN, agentUrls: urls, healthUrl });
}

async function deploy(env: Environment, version: string): Promise<string> {
  await writeFile(path.join(art, 'index.html'), `<h1>${version}</h1>`);
  const r = await runDeployment({ env: { ...env, health: undefined }, version, events: new EventStream() });
  if (!r.ok || r.value.status !== 'success') throw new Error(r.ok ? r.value.reason : r.error);
  return r.value.release;
}

/** A deployment's event stream and every event it carried. */
function recorded(): { events: EventStream<DeployEvent>; seen: DeployEvent[] } {
  const events = new EventStream<DeployEvent>();
  const seen: DeployEvent[] = [];
  events.subscribe((e) => seen.push(e));
  return { events, seen };
}

const current = (n: string) => readlink(path.join(root, n, 'current')).then((l) => path.basename(l));

describe('runRollback', () => {
  it('switches every host back to its previous release', async () => {
    const env = await environment();
    const v1 = await deploy(env, 'v1');
    await deploy(env, 'v2');
    const { events, seen } = recorded();
    const r = await runRollback({ env, events });
    expect(r.status, r.reason).toBe('success');
    expect([await current('a'), await current('b')]).toEqual([v1, v1]);
    expect(
      seen
        .filter((e) => e.type === 'target-activated')
        .map((e) => e.target)
        .sort(),
    ).toEqual(['t1', 't2']);
    expect(seen.at(-1)).toMatchObject({ type: 'deploy-finished', status: 'success' });
  });

  it('fails with each host and its reason when a switch back fails its health check', async () => {
    const health = createServer((_, res) => res.writeHead(503).end('down'));
    const url = await servers.listen(health);
    const env = await environment(url);
    const v1 = await deploy(env, 'v1');
    await deploy(env, 'v2');
    const { events, seen } = recorded();
    const r = await runRollback({ env, events });
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/^rollback failed on t[12]: switched back but the health check is Failed/);
    // The switch itself happened: the health check reports on it, it does not undo it.
    expect([await current('a'), await current('b')]).toEqual([v1, v1]);
    const failed = seen.filter((e) => e.type === 'target-failed');
    expect(failed.map((e) => e.target).sort()).toEqual(['t1', 't2']);
    expect(failed.every((e) => e.type === 'target-failed' && e.phase === 'activate')).toBe(true);
    expect(seen.at(-1)).toMatchObject({ type: 'deploy-finished', status: 'failed' });
  });

  it('fails a host with no release to go back to, and still switches the others', async () => {
    const env = await environment();
    const v1 = await deploy(env, 'v1');
    // Host b gets a second release; host a has only v1.
    const one = { ...env, regions: [{ ...env.regions[0]!, targets: [env.regions[0]!.targets[1]!] }] };
    await deploy(one, 'v2');
    const r = await runRollback({ env, events: new EventStream<DeployEvent>() });
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/^rollback failed on t1: /);
    expect([await current('a'), await current('b')]).toEqual([v1, v1]);
  });
});
