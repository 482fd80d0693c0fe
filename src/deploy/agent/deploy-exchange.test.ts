/**
 * POST /v1/deploy (deploy-exchange.ts) on a real agent server: an unchanged redeploy staged as a
 * twin and activated in one exchange, without sources, answered in one small piece; a change
 * with sources; and everything refused before a change (auth, body, protocol, lock, a base not
 * kept, chunks needed without sources) as an HTTP error that changes nothing.
 */
import { mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentRig, startAgentRig } from '../../../test/helpers/agent-rig.js';
import { AgentClient, type DeployRequest } from '../agent-client.js';
import { diffManifest } from '../manifest-delta.js';
import { DEPLOY_PROTOCOL, NEEDS_SOURCES, NO_BASE } from '../protocol.js';

const TOKEN = 'deploy-exchange-token-0123456789';
const FILES = { 'index.html': 'hello', 'lib/a.js': 'a'.repeat(5000) };
let rig: AgentRig;

beforeEach(async () => {
  rig = await startAgentRig({ prefix: 'slipway-deploy-exchange-', token: TOKEN });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rig.close();
});

const agentDir = () => path.join(rig.root, 'agent');

/** What a request could have changed: `current`, the releases, the state file. */
async function snapshot() {
  return {
    current: await readlink(path.join(agentDir(), 'current')).catch(() => null),
    releases: (await readdir(path.join(agentDir(), 'releases'))).sort(),
    state: await readFile(path.join(agentDir(), 'state.json'), 'utf8').catch(() => ''),
  };
}

/** The body of a redeploy of `files` as `version` against the rig's release `base`. */
async function redeploy(
  base: Awaited<ReturnType<AgentRig['deploy']>>,
  version: string,
  files: Record<string, string>,
  extra: Partial<DeployRequest> = {},
) {
  const art = await rig.artifact(version, files);
  const d = diffManifest(base.manifest, base.release, art.manifest);
  const body: DeployRequest = {
    protocol: DEPLOY_PROTOCOL,
    release: art.release,
    version,
    base: base.release,
    ...(d.remove.length ? { remove: d.remove } : {}),
    ...(d.upsert.length ? { upsert: d.upsert } : {}),
    keep: 2,
    ...extra,
  };
  return { art, body };
}

/** The raw answer to a POST /v1/deploy: status, headers, body. */
function raw(body: string, headers: Record<string, string> = {}) {
  const url = new URL('/v1/deploy', rig.url);
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>(
    (resolve, reject) => {
      const req = request(url, { method: 'POST', agent: false, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

describe('POST /v1/deploy', () => {
  it('stages an unchanged redeploy as a twin and activates it, answering in one small piece', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2', FILES);
    expect(body).not.toHaveProperty('sources');
    const r = await raw(JSON.stringify(body), { authorization: `Bearer ${TOKEN}` });
    expect(r.status, r.text).toBe(200);
    // One line, its length given, no date, no content type: what the deployer reads and no more.
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.text)));
    expect(r.headers).not.toHaveProperty('date');
    expect(r.headers).not.toHaveProperty('content-type');
    expect(r.headers).not.toHaveProperty('transfer-encoding');
    // What ran before is left out: it was the base.
    expect(JSON.parse(r.text)).toEqual({ type: 'done' });
    expect(await readlink(path.join(agentDir(), 'current'))).toBe(`releases/${art.release}`);
    expect(await readlink(path.join(agentDir(), 'releases', art.release))).toBe(v1.release);
    // Its staging time saved with its activation's.
    const state = JSON.parse(await readFile(path.join(agentDir(), 'state.json'), 'utf8'));
    expect(Object.keys(state.releases[art.release]).sort()).toEqual(['activatedAt', 'stagedAt']);
  });

  it('answers an unchanged redeploy through the client, naming what ran before when it was not the base', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2', FILES);
    const x = await rig.client.deploy(body);
    expect(x).toEqual({
      kind: 'answered',
      line: { type: 'done' },
      requestBytes: Buffer.byteLength(JSON.stringify(body)),
    });
    // Again: the release is kept and active now, staged already, and what ran before is not the base.
    const again = await rig.client.deploy(body);
    expect(again.kind === 'answered' && again.line).toEqual({
      type: 'done',
      previous: art.release,
      already: true,
    });
  });

  it('fetches a change from its sources, then activates it', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2', { ...FILES, 'index.html': 'hello again' });
    const x = await rig.client.deploy({ ...body, sources: [art.origin] });
    expect(x.kind === 'answered' && x.line).toMatchObject({ type: 'done', fetched: 1 });
    expect(await readlink(path.join(agentDir(), 'current'))).toBe(`releases/${art.release}`);
    const html = path.join(agentDir(), 'releases', art.release, 'index.html');
    expect(await readFile(html, 'utf8')).toBe('hello again');
  });

  it('reports a staging that fails after it began as an error line, and does not switch', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2', { ...FILES, 'index.html': 'never served' });
    await art.origin.close();
    const before = await snapshot();
    const x = await rig.client.deploy({ ...body, sources: [art.origin] });
    expect(x.kind).toBe('answered');
    expect(x.kind === 'answered' && x.line.type).toBe('error');
    expect(x.kind === 'answered' && x.line.type === 'error' && x.line.staged).toBeUndefined();
    expect((await snapshot()).current).toBe(before.current);
  });

  it('says what ran before when the staging succeeded and the activation failed', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2', FILES);
    // `current` a folder with something in it: the switch cannot rename the new link over it.
    const current = path.join(agentDir(), 'current');
    await rm(current);
    await mkdir(path.join(current, 'in-the-way'), { recursive: true });
    const x = await rig.client.deploy(body);
    expect(x.kind === 'answered' && x.line).toMatchObject({
      type: 'error',
      message: /activating .* failed/,
      staged: { previous: null },
    });
    expect((await rig.agent.status()).releases.map((r) => r.id)).toContain(art.release);
  });

  it('waits for the pruning after the last activation before it stages', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { body } = await redeploy(v1, 'v2', FILES);
    let prunedNow!: () => void;
    const pruning = new Promise<void>((resolve) => {
      prunedNow = resolve;
    });
    vi.spyOn(rig.agent, 'pruned').mockReturnValue(pruning);
    const staging = vi.spyOn(rig.agent, 'stageLocal');
    const pending = rig.client.deploy(body);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(staging).not.toHaveBeenCalled();
    prunedNow();
    expect((await pending).kind).toBe('answered');
    expect(staging).toHaveBeenCalledTimes(1);
  });

  it('refuses without changing anything: auth, body, protocol, base, sources, lock', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const same = await redeploy(v1, 'v2', FILES);
    const changed = await redeploy(v1, 'v3', { ...FILES, 'index.html': 'changed' });
    const before = await snapshot();
    const refusal = async (x: Promise<unknown>) => {
      const r = (await x) as { kind: string; status: number; message: string };
      expect(r.kind, JSON.stringify(r)).toBe('refused');
      return r;
    };

    const stranger = new AgentClient(rig.url, 'not-the-token-0123456789');
    expect((await refusal(stranger.deploy(same.body))).status).toBe(401);
    expect((await raw(JSON.stringify(same.body))).status).toBe(401);

    for (const bad of [
      { ...same.body, release: 42 },
      { ...same.body, stray: true },
      { ...same.body, sources: [] },
      { ...same.body, protocol: undefined },
    ]) {
      const r = await refusal(rig.client.deploy(bad as unknown as DeployRequest));
      expect(r.status, r.message).toBe(400);
      expect(r.message).toMatch(/bad deploy request/);
    }

    for (const protocol of [DEPLOY_PROTOCOL - 1, DEPLOY_PROTOCOL + 1]) {
      const r = await refusal(rig.client.deploy({ ...same.body, protocol }));
      expect(r.status).toBe(400);
      expect(r.message).toMatch(protocol > DEPLOY_PROTOCOL ? /upgrade the agent/ : /upgrade the deployer/);
    }

    const unknownBase = await refusal(
      rig.client.deploy({ ...same.body, base: 'v0-0123456789ab' as DeployRequest['base'] }),
    );
    expect(unknownBase.status).toBe(409);
    expect(unknownBase.message).toContain(NO_BASE);

    const noSources = await refusal(rig.client.deploy(changed.body));
    expect(noSources.status).toBe(409);
    expect(noSources.message).toContain(NEEDS_SOURCES);

    const a = new AgentClient(rig.url, TOKEN);
    a.holder = 'd-first';
    expect((await a.lock({ holder: 'd-first', owner: 'test', ttlMs: 60_000 })).ok).toBe(true);
    const b = new AgentClient(rig.url, TOKEN);
    b.holder = 'd-second';
    const locked = await refusal(b.deploy(same.body));
    expect(locked.status).toBe(409);
    expect(locked.message).toMatch(/locked by deployment d-first/);
    expect(await snapshot()).toEqual(before);

    // The holder itself goes ahead.
    const x = await a.deploy(same.body);
    expect(x.kind === 'answered' && x.line.type).toBe('done');
  });

  it('takes the version from the release id when the body leaves it out', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { art, body } = await redeploy(v1, 'v2.1', FILES);
    const { version, ...rest } = body;
    expect(art.release.startsWith(`${version}-`)).toBe(true);
    const x = await rig.client.deploy(rest);
    expect(x.kind === 'answered' && x.line.type).toBe('done');
    const status = await rig.agent.status();
    expect(status.releases.find((r) => r.id === art.release)?.version).toBe('v2.1');
  });

  it('takes the lock itself when asked (HOLD_HEADER), and gives it back once done', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const hold = (body: DeployRequest, mode: 'once' | 'keep', holder = 'd-lone') =>
      raw(JSON.stringify(body), {
        authorization: `Bearer ${TOKEN}`,
        'slipway-lock': holder,
        'slipway-hold': `60000 ${mode} pid 1 on test`,
      });
    // `once`: held while it ran, nobody's after.
    const seen: (string | undefined)[] = [];
    const activate = rig.agent.activate.bind(rig.agent);
    vi.spyOn(rig.agent, 'activate').mockImplementation((o) => {
      seen.push(rig.agent.lock.current?.holder);
      return activate(o);
    });
    const v2 = await redeploy(v1, 'v2', FILES);
    const r = await hold(v2.body, 'once');
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ type: 'done' });
    expect(seen).toEqual(['d-lone']);
    expect(rig.agent.lock.current).toBeNull();
    // `keep`: still held after, with the owner and since when by the agent's clock.
    const v3 = await redeploy(v1, 'v3', { ...FILES, 'index.html': 'three' });
    const kept = await hold({ ...v3.body, sources: [v3.art.origin] } as DeployRequest, 'keep');
    expect(kept.status, kept.text).toBe(200);
    expect(rig.agent.lock.current).toMatchObject({
      holder: 'd-lone',
      owner: expect.stringMatching(/^pid 1 on test, since \d\d:\d\d:\d\d$/),
    });
    // Another deployment is refused as by POST /v1/lock, changing nothing.
    const before = await snapshot();
    const v4 = await redeploy(v1, 'v4', FILES);
    const other = await hold(v4.body, 'once', 'd-other');
    expect(other.status).toBe(409);
    expect(other.text).toMatch(/locked by deployment d-lone \(pid 1 on test, since/);
    expect(await snapshot()).toEqual(before);
    expect(rig.agent.lock.current?.holder).toBe('d-lone');
    // A bad header is refused.
    rig.agent.lock.release('d-lone');
    const bad = await raw(JSON.stringify(v4.body), {
      authorization: `Bearer ${TOKEN}`,
      'slipway-lock': 'd-lone',
      'slipway-hold': 'forever once me',
    });
    expect(bad.status).toBe(400);
    expect(rig.agent.lock.current).toBeNull();
  });

  it('gives back a lock it took when it refuses before changing anything', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const changed = await redeploy(v1, 'v2', { ...FILES, 'index.html': 'changed' });
    const headers = {
      authorization: `Bearer ${TOKEN}`,
      'slipway-lock': 'd-lone',
      'slipway-hold': '60000 once pid 1 on test',
    };
    // Chunks needed and no sources; a base not kept.
    const noSources = await raw(JSON.stringify(changed.body), headers);
    expect(noSources.status).toBe(409);
    expect(noSources.text).toContain(NEEDS_SOURCES);
    expect(rig.agent.lock.current).toBeNull();
    const noBase = await raw(JSON.stringify({ ...changed.body, base: 'v0-0123456789ab' }), headers);
    expect(noBase.status).toBe(409);
    expect(rig.agent.lock.current).toBeNull();
    // A lock the deployment held before the exchange stays held through a refusal.
    expect(rig.agent.lock.acquire({ holder: 'd-lone', owner: 'test', ttlMs: 60_000 }).ok).toBe(true);
    expect((await raw(JSON.stringify(changed.body), headers)).status).toBe(409);
    expect(rig.agent.lock.current?.holder).toBe('d-lone');
  });

  it('refuses a release id that does not match the delta after all, as a staging error', async () => {
    const v1 = await rig.deploy('v1', FILES);
    const { body } = await redeploy(v1, 'v2', FILES);
    const before = await snapshot();
    const x = await rig.client.deploy({ ...body, release: 'v2-0123456789ab' as DeployRequest['release'] });
    expect(x.kind === 'answered' && x.line).toMatchObject({ type: 'error', message: /does not match/ });
    expect(await snapshot()).toEqual(before);
  });
});
