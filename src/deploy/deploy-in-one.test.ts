/**
 * A redeploy to a lone host in one exchange (stage.ts `stageInOne`, agent/deploy-exchange.ts),
 * seen from the deployer through a proxy that records each request and counts the bytes: an
 * unchanged redeploy is one POST /v1/deploy; an agent from before it (404), one lacking the base
 * or a fleet of two deploy as before; an exchange that breaks off after the switch is undone.
 */
import { mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentProxy, agentProxy, oneRegionEnvironment } from '../../test/helpers/deploy-environment.js';
import { TestServers } from '../../test/helpers/http-servers.js';
import { EventStream } from '../events.js';
import { Agent } from './agent/agent.js';
import { listenAgent } from './agent/server.js';
import { runDeployment } from './deploy.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';

const TOKEN = 'deploy-in-one-token-0123456789';
let root: string;
let art: string;
const agents: Agent[] = [];
const servers = new TestServers();

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-in-one-'));
  art = path.join(root, 'art');
  await mkdir(path.join(art, 'lib'), { recursive: true });
  await writeFile(path.join(art, 'index.html'), 'hello');
  await writeFile(path.join(art, 'lib/a.js'), 'a'.repeat(20_000));
});
afterEach(async () => {
  for (const a of agents.splice(0)) await a.shutdown();
  servers.closeAll();
  await rm(root, { recursive: true, force: true });
});

interface Proxied extends AgentProxy {
  dir: string;
  agent: Agent;
}

/**
 * An agent in `<root>/<name>` behind a proxy that answers `missing` routes with 404 (an agent from
 * before them) and, with `cut`, breaks the connection of `cut` once the agent has answered it.
 */
async function agentBehindProxy(
  name: string,
  o: { missing?: string[]; cut?: string } = {},
): Promise<Proxied> {
  const dir = path.join(root, name);
  const agent = await Agent.open({ dir, token: TOKEN, keep: 2 });
  agents.push(agent);
  const server = await listenAgent(agent, '127.0.0.1', 0);
  servers.keep(server);
  const proxy = await agentProxy(servers, (server.address() as AddressInfo).port, o);
  return { ...proxy, dir, agent };
}

const envFor = (agentUrls: string[], healthUrl?: string): Environment =>
  oneRegionEnvironment({ name: 'in-one', artifact: art, token: TOKEN, agentUrls, healthUrl });

async function deploy(agentUrls: string[], version: string, healthUrl?: string, signal?: AbortController) {
  const events = new EventStream<DeployEvent>();
  const seen: DeployEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
    // Interrupted (Ctrl-C) once staged: in one exchange, that is once switched too.
    if (e.type === 'target-staged') signal?.abort();
  });
  const r = await runDeployment({
    env: envFor(agentUrls, healthUrl),
    version,
    events,
    ledgerDir: path.join(root, 'ledger'),
    signal: signal?.signal,
  });
  if (!r.ok) throw new Error(r.error);
  return { ...r.value, events: seen };
}

const currentOf = (p: Proxied) => readlink(path.join(p.dir, 'current'));

describe('a redeploy to a lone host in one exchange', () => {
  it('is one request when nothing changed, a few hundred bytes in all', async () => {
    const a = await agentBehindProxy('agent');
    const v1 = await deploy([a.url], 'v1');
    expect(v1.status, v1.reason).toBe('success');
    a.reset();
    const v2 = await deploy([a.url], 'v2');
    expect(v2.status, v2.reason).toBe('success');
    expect(a.asked).toEqual(['POST /v1/deploy']);
    // Request and answer, heads included (rsync -z spends about 400 bytes on one unchanged file).
    expect(a.bytes()).toBeLessThan(400);
    expect(await currentOf(a)).toBe(`releases/${v2.release}`);
    expect(await readlink(path.join(a.dir, 'releases', v2.release))).toBe(v1.release);
    const kinds = v2.events.map((e) => e.type);
    expect(kinds).toEqual([
      'deploy-started',
      'target-staging',
      'target-staged',
      'wave-started',
      'target-activated',
      'gate-finished',
      'deploy-finished',
    ]);
    expect(v2.events.find((e) => e.type === 'target-activated')).toMatchObject({ previous: v1.release });
  });

  it('starts no origin for an unchanged redeploy', async () => {
    const a = await agentBehindProxy('agent');
    await deploy([a.url], 'v1');
    // The origin's port taken: a deploy that starts one fails, and this one does not.
    const taken = Number(new URL(a.url).port);
    const env = { ...envFor([a.url]), origin: { host: '127.0.0.1', port: taken } };
    const ledgerDir = path.join(root, 'ledger');
    const events = new EventStream<DeployEvent>();
    const v2 = await runDeployment({ env, version: 'v2', events, ledgerDir });
    expect(v2.ok && v2.value.status).toBe('success');
    await writeFile(path.join(art, 'index.html'), 'changed');
    await expect(runDeployment({ env, version: 'v3', events, ledgerDir })).rejects.toThrow(/EADDRINUSE/);
  });

  it('sends a change with its sources, still in one exchange with the agent', async () => {
    const a = await agentBehindProxy('agent');
    await deploy([a.url], 'v1');
    await writeFile(path.join(art, 'index.html'), 'hello again');
    a.reset();
    const v2 = await deploy([a.url], 'v2');
    expect(v2.status, v2.reason).toBe('success');
    expect(a.asked).toEqual(['POST /v1/deploy']);
    expect(v2.events.find((e) => e.type === 'target-staged')).toMatchObject({ chunksFetched: 1 });
  });

  it('deploys as before to an agent without POST /v1/deploy', async () => {
    const a = await agentBehindProxy('agent', { missing: ['/v1/deploy'] });
    await deploy([a.url], 'v1');
    a.reset();
    const v2 = await deploy([a.url], 'v2');
    expect(v2.status, v2.reason).toBe('success');
    expect(a.asked).toEqual(['POST /v1/deploy', 'GET /v1/status', 'POST /v1/stage', 'POST /v1/activate']);
    expect(await currentOf(a)).toBe(`releases/${v2.release}`);
  });

  it('deploys as before to an agent that lacks the release last deployed', async () => {
    const a = await agentBehindProxy('agent');
    await deploy([a.url], 'v1');
    // Another host now, without any release, and the ledger of the deploys to the first.
    const b = await agentBehindProxy('agent-b');
    const v2 = await deploy([b.url], 'v2');
    expect(v2.status, v2.reason).toBe('success');
    expect(b.asked).toContain('POST /v1/deploy');
    expect(b.asked.slice(-3)).toEqual(['GET /v1/status', 'POST /v1/stage', 'POST /v1/activate']);
    expect(await currentOf(b)).toBe(`releases/${v2.release}`);
  });

  it('is not used for two hosts: each stages before either switches', async () => {
    const a = await agentBehindProxy('agent');
    const b = await agentBehindProxy('agent-b');
    await deploy([a.url, b.url], 'v1');
    a.reset();
    const v2 = await deploy([a.url, b.url], 'v2');
    expect(v2.status, v2.reason).toBe('success');
    expect(a.asked).not.toContain('POST /v1/deploy');
    // A small artifact: no twin check asked ahead either (deploy.ts TWIN_CHECK_MIN_ENTRIES).
    expect(a.asked).toEqual(['GET /v1/status', 'POST /v1/stage', 'POST /v1/activate']);
  });

  it('rolls the host back when the health gate fails after the exchange', async () => {
    const a = await agentBehindProxy('agent');
    const v1 = await deploy([a.url], 'v1');
    let status = 200;
    const health = await servers.listen(createServer((_req, res) => res.writeHead(status).end()));
    status = 500;
    a.reset();
    const v2 = await deploy([a.url], 'v2', health);
    expect(v2.status, v2.reason).toBe('rolled-back');
    expect(a.asked).toEqual(['POST /v1/deploy', 'POST /v1/activate']);
    expect(await currentOf(a)).toBe(`releases/${v1.release}`);
    expect(v2.events.find((e) => e.type === 'target-rolled-back')).toMatchObject({
      to: v1.release,
      ok: true,
    });
  });

  it('switches the host back when interrupted: an interrupted deployment switches none', async () => {
    const a = await agentBehindProxy('agent');
    const v1 = await deploy([a.url], 'v1');
    a.reset();
    const v2 = await deploy([a.url], 'v2', undefined, new AbortController());
    expect(v2.status).toBe('interrupted');
    expect(a.asked).toEqual(['POST /v1/deploy', 'POST /v1/activate']);
    expect(await currentOf(a)).toBe(`releases/${v1.release}`);
  });

  it('switches back when the exchange broke off after the agent had switched', async () => {
    const a = await agentBehindProxy('agent', { cut: '/v1/deploy' });
    const v1 = await deploy([a.url], 'v1');
    expect(await currentOf(a)).toBe(`releases/${v1.release}`);
    a.reset();
    const v2 = await deploy([a.url], 'v2');
    expect(v2.status).toBe('failed');
    expect(v2.reason).toMatch(/no answer from agent/);
    expect(v2.reason).toMatch(/back on/);
    expect(a.asked).toEqual(['POST /v1/deploy', 'POST /v1/rollback']);
    expect(await currentOf(a)).toBe(`releases/${v1.release}`);
  });
});
