import { mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentProxy, oneRegionEnvironment } from '../../test/helpers/deploy-environment.js';
import { TestServers } from '../../test/helpers/http-servers.js';
import { EventStream } from '../events.js';
import { Agent } from './agent/agent.js';
import { listenAgent } from './agent/server.js';
import { runDeployment } from './deploy.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';

const TOKEN = 'prepare-compat-token-0123456789';
let root: string;
let agent: Agent;
const servers = new TestServers();

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-prepare-'));
  agent = await Agent.open({ dir: path.join(root, 'agent'), token: TOKEN, keep: 2 });
});
afterEach(async () => {
  await agent.shutdown();
  servers.closeAll();
  await rm(root, { recursive: true, force: true });
});

/** The agent behind a proxy that answers `routes` as an agent from before them did: 404. */
async function olderAgent(routes = ['/v1/prepare']): Promise<{ url: string; asked: string[] }> {
  const server = await listenAgent(agent, '127.0.0.1', 0);
  servers.keep(server);
  return agentProxy(servers, (server.address() as AddressInfo).port, { missing: routes });
}

const envFor = (artifact: string, agentUrl: string): Environment =>
  oneRegionEnvironment({ name: 'compat', artifact, token: TOKEN, agentUrls: [agentUrl] });

describe('first deploys and the prepare request', () => {
  it('deploy to an agent that does not know /v1/prepare exactly as before', async () => {
    const art = path.join(root, 'art');
    await mkdir(path.join(art, 'lib'), { recursive: true });
    await writeFile(path.join(art, 'index.html'), 'hello');
    await writeFile(path.join(art, 'lib/a.js'), 'a'.repeat(20_000));
    const { url, asked } = await olderAgent(['/v1/prepare', '/v1/stage-stream']);
    const r = await runDeployment({
      env: envFor(art, url),
      version: 'v1',
      events: new EventStream<DeployEvent>(),
    });
    expect(r.ok && r.value.status, r.ok ? r.value.reason : r.error).toBe('success');
    // It was asked, said no, and the release came all the same.
    expect(asked).toContain('POST /v1/prepare');
    const release = r.ok ? r.value.release : '';
    const dir = path.join(root, 'agent', 'releases', release);
    expect(await readFile(path.join(dir, 'lib/a.js'), 'utf8')).toBe('a'.repeat(20_000));
    expect((await readdir(dir)).sort()).toEqual(['index.html', 'lib']);

    // A host with a release is not sent the outline again (its files will be linked).
    await writeFile(path.join(art, 'index.html'), 'hello again');
    const again = await runDeployment({
      env: envFor(art, url),
      version: 'v2',
      events: new EventStream<DeployEvent>(),
    });
    expect(again.ok && again.value.status).toBe('success');
    expect(asked.filter((a) => a === 'POST /v1/prepare')).toHaveLength(1);
  });
});

describe('unchanged redeploys and the twin check taken ahead', () => {
  async function twice(url: string) {
    const art = path.join(root, 'art');
    await mkdir(path.join(art, 'lib'), { recursive: true });
    await writeFile(path.join(art, 'index.html'), 'hello');
    await writeFile(path.join(art, 'lib/a.js'), 'a'.repeat(20_000));
    const deploy = (version: string) =>
      runDeployment({ env: envFor(art, url), version, events: new EventStream<DeployEvent>() });
    const first = await deploy('v1');
    const second = await deploy('v2');
    expect(first.ok && first.value.status).toBe('success');
    expect(second.ok && second.value.status).toBe('success');
    const releases = path.join(root, 'agent', 'releases');
    // The unchanged redeploy is a twin of the first release either way.
    const v1 = first.ok ? first.value.release : '';
    expect(await readlink(path.join(releases, second.ok ? second.value.release : ''))).toBe(v1);
  }

  it('asks the agent for the check as the deploy starts', async () => {
    const { url, asked } = await olderAgent([]);
    await twice(url);
    expect(asked.filter((a) => a === 'POST /v1/twin-check')).toHaveLength(2);
  });

  it('deploys to an agent that does not know /v1/twin-check as before', async () => {
    const { url, asked } = await olderAgent(['/v1/twin-check']);
    await twice(url);
    expect(asked).toContain('POST /v1/twin-check');
  });
});
