import { once } from 'node:events';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../events.js';
import { AgentClient } from './agent-client.js';
import type { Environment } from './environment.js';
import type { DeployEvent } from './events.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import type { Manifest } from './manifest.js';
import { stageAll } from './stage.js';
import type { ReleaseId } from './types.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** An agent from before protocol versioning: its status has no `protocol`, and it stages anything. */
async function oldAgent(): Promise<{ url: string; staged: () => number }> {
  let staged = 0;
  const server = createServer((req, res) => {
    if (req.url === '/v1/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ current: null, releases: [], app: {}, chunks: 0, pooled: 0, staging: [] }));
      return;
    }
    staged++;
    res.writeHead(500);
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, staged: () => staged };
}

describe('staging', () => {
  it('refuses an agent of another deploy protocol with a message naming the side to upgrade', async () => {
    const agent = await oldAgent();
    const env = {
      name: 'test',
      regions: [
        {
          name: 'r1',
          traffic: 1,
          maxUnavailable: 1,
          targets: [{ name: 't1', region: 'r1', agentUrl: agent.url, token: 'x', env: {} }],
        },
      ],
      relay: false,
      stageParallelism: 1,
    } as unknown as Environment;
    const manifest: Manifest = { format: 1, version: 'v1', chunking: DEFAULT_CHUNKING, entries: [] };
    const events = new EventStream<DeployEvent>();
    const [r] = await stageAll({
      deploymentId: 'd-1',
      env,
      release: 'v1-000000000000' as ReleaseId,
      manifest,
      chunksTotal: 0,
      origin: async () => ({ url: 'http://127.0.0.1:9', token: 'y' }),
      events,
      clients: new Map([['t1', new AgentClient(agent.url, 'x')]]),
    });
    expect(r?.ok).toBe(false);
    expect(r?.reason).toMatch(/speaks deploy protocol 1, this deployer speaks 6.*upgrade the agent/);
    expect(agent.staged()).toBe(0);
  });
});
