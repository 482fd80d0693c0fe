/**
 * The agent's defences at the HTTP level (a real server on 127.0.0.1, port 0): bodies that are
 * not the expected object are a 400 and change nothing (issue 10, defect 9); a chunk whose real
 * length differs from the manifest's claim is refused; the deploy lock and the expected current
 * release keep a second deployment from moving a host (defect 5).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { AgentClient } from '../agent-client.js';
import { chunkIdOf } from '../fastcdc.js';
import { releaseIdOf } from '../manifest.js';
import { encodeFrame } from '../wire.js';
import type { Agent } from './agent.js';

const TOKEN = 'input-test-token-0123456789';
let root: string;
let agent: Agent;
let client: AgentClient;
let url: string;
let rig: AgentRig;

const release = (version: string, files: Record<string, string>) => rig.artifact(version, files);

async function deployed(version: string) {
  const r = await release(version, { 'index.html': version });
  const s = await client.stage({ release: r.release, manifest: r.manifest, sources: [r.origin] });
  if (!s.ok) throw new Error(s.error);
  const a = await client.activate(r.release);
  if (!a.ok) throw new Error(a.error);
  return r;
}

/** What a request could have changed: `current`, the releases, the state file, the lock. */
async function snapshot() {
  const dir = path.join(root, 'agent');
  return {
    current: await readlink(path.join(dir, 'current')).catch(() => null),
    releases: (await readdir(path.join(dir, 'releases'))).sort(),
    state: await readFile(path.join(dir, 'state.json'), 'utf8').catch(() => ''),
    lock: agent.lock?.current ?? null,
  };
}

function post(route: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-agent-input-', token: TOKEN });
  ({ root, agent, client, url } = rig);
});

afterEach(() => rig.close());

describe('agent request bodies', () => {
  const routes = [
    '/v1/stage',
    '/v1/deploy',
    '/v1/activate',
    '/v1/rollback',
    '/v1/grant',
    '/v1/lock',
    '/v1/unlock',
    '/v1/chunks/missing',
    '/v1/chunks/fetch',
  ];
  const bodies = ['null', '42', '[]', '"to"', 'true', '{"release":42}', '{"to":{"x":1}}'];

  it('answers null, numbers, lists and wrong fields with 400 and changes nothing', async () => {
    const v1 = await deployed('v1');
    await deployed('v2');
    const before = await snapshot();
    expect(before.current).toMatch(/^releases\/v2-/);
    for (const route of routes) {
      for (const body of bodies) {
        const res = await post(route, body);
        const text = await res.text();
        expect(res.status, `${route} ${body}: ${text}`).toBe(400);
        expect(JSON.parse(text).error, `${route} ${body}`).toMatch(/^bad .*request/);
      }
    }
    // The rollback that `42` or `[]` used to perform did not happen.
    expect(await snapshot()).toEqual(before);
    const back = await post('/v1/rollback', '{}');
    expect(back.status).toBe(200);
    expect((await snapshot()).current).toBe(`releases/${v1.release}`);
  });

  it('refuses a chunk whose length differs from the manifest, and stages nothing', async () => {
    const data = Buffer.from('eighteen bytes!!!\n');
    expect(data.length).toBe(18);
    const id = chunkIdOf(data);
    const manifest = {
      format: 1 as const,
      version: 'short',
      chunking: { min: 16384, avg: 65536, max: 262144 },
      entries: [
        {
          type: 'file' as const,
          path: 'a.txt',
          mode: 0o644,
          size: 5,
          chunks: [[id, 5]] as [never, number][],
        },
      ],
    };
    const put = await fetch(`${url}/v1/chunks`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: await encodeFrame(id, data),
    });
    expect(put.status).toBe(200);
    const before = await snapshot();
    const r = await client.stage({ release: releaseIdOf(manifest), manifest, sources: [] });
    expect(r.ok ? 'staged' : r.error).toMatch(/is 18 bytes, the manifest says 5/);
    expect(await snapshot()).toEqual(before);
    expect((await agent.status()).releases).toEqual([]);
  });
});

describe('agent deploy lock and expected release', () => {
  it('refuses a second holder, callers without the lock and a stale expected release with 409', async () => {
    const v1 = await deployed('v1');
    const v2 = await release('v2', { 'index.html': 'v2' });
    const a = new AgentClient(url, TOKEN);
    a.holder = 'd-first';
    const b = new AgentClient(url, TOKEN);
    b.holder = 'd-second';
    expect((await a.lock({ holder: 'd-first', owner: 'pid 1 on h', ttlMs: 60_000 })).ok).toBe(true);
    const refused = await b.lock({ holder: 'd-second', owner: 'pid 2 on h', ttlMs: 60_000 });
    expect(refused.ok ? 'locked' : refused.error).toMatchObject({ reason: 'held' });
    expect(refused.ok ? '' : refused.error.message).toMatch(
      /409.*locked by deployment d-first \(pid 1 on h\)/,
    );

    // Only the holder stages; the holder's staged release is not pruned by its own activations.
    const notMine = await b.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] });
    expect(notMine.ok ? 'staged' : notMine.error).toMatch(/409/);
    const anonymous = await post('/v1/rollback', '{}');
    expect(anonymous.status).toBe(409);
    expect((await a.stage({ release: v2.release, manifest: v2.manifest, sources: [v2.origin] })).ok).toBe(
      true,
    );

    const stale = await a.activate(v2.release, { expected: null });
    expect(stale.ok ? 'activated' : stale.error).toMatch(/409.*another deployment moved this host/);
    expect((await agent.status()).current).toBe(v1.release);
    const good = await a.activate(v2.release, { expected: v1.release });
    expect(good.ok && good.value.current).toBe(v2.release);

    // A holder proven dead is taken over at once; the old holder is then refused.
    expect(
      (await b.lock({ holder: 'd-second', owner: 'pid 2', ttlMs: 60_000, takeOver: 'd-first' })).ok,
    ).toBe(true);
    expect((await a.activate(v1.release)).ok).toBe(false);
    await b.unlock('d-second');
    expect((await agent.status()).lock).toBeNull();
  });

  it("keeps the lock holder's staged releases when another activation prunes", async () => {
    await deployed('v1');
    await deployed('v2');
    const v3 = await release('v3', { 'index.html': 'v3' });
    const holder = new AgentClient(url, TOKEN);
    holder.holder = 'd-holder';
    expect((await holder.lock({ holder: 'd-holder', owner: 'test', ttlMs: 60_000 })).ok).toBe(true);
    expect(
      (await holder.stage({ release: v3.release, manifest: v3.manifest, sources: [v3.origin] })).ok,
    ).toBe(true);
    // keep: 1 would prune everything but current; the holder's staged v3 stays.
    const v1 = (await agent.status()).releases.find((r) => r.version === 'v1')!;
    expect((await holder.activate(v1.id, { keep: 1 })).ok).toBe(true);
    expect((await agent.status()).releases.map((r) => r.version).sort()).toContain('v3');
  });
});

describe('deploy protocol and deltas', () => {
  it('refuses a stage request of a newer protocol with a message saying which side to upgrade', async () => {
    const r = await release('v1', { 'index.html': 'one' });
    const before = await snapshot();
    const res = await post(
      '/v1/stage',
      JSON.stringify({ protocol: 99, release: r.release, manifest: r.manifest }),
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/protocol 99, this agent 6.*upgrade the agent/);
    expect(await snapshot()).toEqual(before);
    expect((await agent.status()).protocol).toBe(6);
  });

  it('rebuilds a manifest delta, and answers 409 for a base it does not keep', async () => {
    const { diffManifest } = await import('../manifest-delta.js');
    const v1 = await deployed('v1');
    const v2 = await release('v2', { 'index.html': 'v2', 'extra.txt': 'more' });
    const delta = diffManifest(v1.manifest, v1.release, v2.manifest);
    const s = await client.stage({ release: v2.release, manifest: v2.manifest, delta, sources: [v2.origin] });
    expect(s.ok).toBe(true);
    expect(await readFile(path.join(root, 'agent', 'releases', v2.release, 'extra.txt'), 'utf8')).toBe(
      'more',
    );
    // A delta against a release this agent never had: 409, then the client sends it whole.
    const stranger = { ...delta, base: 'elsewhere-000000000000' };
    const res = await post(
      '/v1/stage',
      JSON.stringify({ protocol: 3, release: v2.release, manifestDelta: stranger }),
    );
    expect(res.status).toBe(409);
    const v3 = await release('v3', { 'index.html': 'v3' });
    const again = await client.stage({
      release: v3.release,
      manifest: v3.manifest,
      delta: {
        ...diffManifest(v1.manifest, v1.release, v3.manifest),
        base: 'elsewhere-000000000000' as never,
      },
      sources: [v3.origin],
    });
    expect(again.ok).toBe(true);
  });

  it('refuses a delta whose rebuilt manifest is not the release asked for', async () => {
    const { diffManifest } = await import('../manifest-delta.js');
    const v1 = await deployed('v1');
    const v2 = await release('v2', { 'index.html': 'v2' });
    const delta = diffManifest(v1.manifest, v1.release, v2.manifest);
    const before = await snapshot();
    const res = await post(
      '/v1/stage',
      JSON.stringify({ protocol: 3, release: v2.release, manifestDelta: { ...delta, upsert: [] } }),
    );
    // The rebuilt manifest is v1's under another version: its digest is not v2's release id.
    expect(await res.text()).toMatch(/"type":"error".*does not match the manifest/);
    expect((await snapshot()).releases).toEqual(before.releases);
  });
});
