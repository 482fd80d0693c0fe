/**
 * Three regions of two agents, each agent its own process with its own folder and app port.
 * One fleet for the whole file: the scenarios build on each other like a day of releases.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploySummary } from '../../src/deploy/summary.js';
import {
  type AgentProc,
  appHealth,
  cli,
  startAgent,
  startAgentOnFreePorts,
  stopAgent,
  targetLines,
  tmpdir,
  writeArtifact,
} from './rig.js';

const TOKEN = 'e2e-token-0123456789abcdef';
const REGIONS = [
  { name: 'eu', traffic: 30 },
  { name: 'us', traffic: 50 },
  { name: 'ap', traffic: 10 },
];

let root: string;
let artifact: string;
let tokenFile: string;
const agents: AgentProc[] = [];

async function deploy(version: string, extra: string[] = []) {
  const summaryFile = path.join(root, `summary-${version}-${Date.now()}.json`);
  const r = await cli(['deploy', 'prod', '--version', version, '--summary', summaryFile, ...extra], root);
  let summary: DeploySummary | undefined;
  try {
    summary = JSON.parse(await readFile(summaryFile, 'utf8')) as DeploySummary;
  } catch {
    summary = undefined;
  }
  return { ...r, summary };
}

async function versions(): Promise<(string | undefined)[]> {
  return Promise.all(agents.map(async (a) => (await appHealth(a.appPort))?.body));
}

beforeAll(async () => {
  root = await tmpdir('deploy-e2e');
  artifact = path.join(root, 'dist');
  tokenFile = path.join(root, 'agent.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  for (const r of REGIONS) {
    for (let i = 1; i <= 2; i++) {
      const name = `${r.name}-${i}`;
      agents.push(
        await startAgentOnFreePorts({ name, region: r.name, dir: path.join(root, 'hosts', name) }, tokenFile),
      );
    }
  }
  const yml = [
    'version: 1',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    start: node server.mjs',
    '    token: { file: agent.token }',
    '    relay: true',
    '    keepReleases: 3',
    '    health: { path: /health, interval: 150ms, timeout: 1s, successes: 2, failures: 1, errors: 200, deadline: 30s }',
    '    strategy: { maxUnavailable: 1, bake: 300ms, minSamples: 2 }',
    '    regions:',
    ...REGIONS.flatMap((r) => [
      `      ${r.name}:`,
      `        traffic: ${r.traffic}`,
      '        targets:',
      ...targetLines(agents.filter((a) => a.region === r.name)),
    ]),
  ];
  await writeFile(path.join(root, 'slipway.yml'), `${yml.join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map(stopAgent));
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

// Real agents, apps and health checks on a shared 2-core machine: a deploy's own deadlines
// (health 30s) decide its outcome, so a test's limit must sit well above them.
describe('slipway deploy across three regions', { timeout: 240_000 }, () => {
  it('refuses a wrong token with 401 and bad manifests with 400', async () => {
    const a = agents[0]!;
    const wrong = await fetch(`${a.url}/v1/status`, {
      headers: { authorization: 'Bearer not-the-token-at-all' },
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(`${a.url}/v1/status`)).status).toBe(401);
    const chunking = { min: 16384, avg: 65536, max: 262144 };
    for (const bad of ['../escape.txt', '/etc/evil', 'ok/../../escape']) {
      const res = await fetch(`${a.url}/v1/stage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          release: 'evil-000000000000',
          manifest: {
            format: 1,
            version: 'evil',
            chunking,
            entries: [{ type: 'file', path: bad, mode: 420, size: 1, chunks: [['a'.repeat(64), 1]] }],
          },
        }),
      });
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/manifest refused/);
    }
    expect(await readdir(path.join(a.dir, 'releases'))).toEqual([]);
  });

  it('answers configuration mistakes with exit 2 and a hint', async () => {
    const r = await cli(['deploy', 'prd'], root);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no environment "prd"[\s\S]*did you mean "prod"/);
    const missing = await cli(['deploy', 'prod', '--artifact', path.join(root, 'nope')], root);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });

  it('deploys v1 everywhere, smallest region first', async () => {
    const bytes = await writeArtifact(artifact, { version: 'v1' });
    const r = await deploy('v1');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await versions()).toEqual(Array(6).fill('v1'));
    const s = r.summary!;
    expect(s.status).toBe('success');
    expect(s.waves.map((w) => w.regions)).toEqual([['ap'], ['eu', 'us']]);
    expect(s.artifact.bytes).toBeGreaterThanOrEqual(bytes);
    // Relay: the origin sent each chunk about once per region, not once per host.
    expect(s.transfer.originEgressBytes).toBeLessThan(s.artifact.bytes * 3.5);
    expect(s.targets.filter((t) => t.source === 'relay')).toHaveLength(3);
  });

  it('moves at most 5% of the artifact when about 1% changed', async () => {
    const bytes = await writeArtifact(artifact, { version: 'v2', changed: 80 * 1024 });
    const r = await deploy('v2');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await versions()).toEqual(Array(6).fill('v2'));
    for (const t of r.summary!.targets) {
      expect(t.bytesSent, t.target).toBeLessThanOrEqual(0.05 * bytes);
      expect(t.chunksReused).toBeGreaterThan(t.chunksFetched);
    }
    expect(r.summary!.transfer.ratio).toBeLessThanOrEqual(0.05);
  });

  it('rolls a release with failing health back everywhere it went live', async () => {
    await writeArtifact(artifact, { version: 'v3', changed: 80 * 1024, seed: 9, failHealth: true });
    const r = await deploy('v3');
    expect(r.code, r.stdout).toBe(1);
    const s = r.summary!;
    expect(s.status).toBe('rolled-back');
    expect(s.waves[0]!.outcome).toBe('Failed');
    // The canary region switched and came back; the later wave never switched.
    expect(s.targets.filter((t) => t.status === 'rolled-back').map((t) => t.region)).toContain('ap');
    expect(s.targets.filter((t) => t.region !== 'ap').every((t) => t.status === 'staged')).toBe(true);
    expect(await versions()).toEqual(Array(6).fill('v2'));
  });

  it('fails before any host switches when an agent dies while staging, and the retry reuses the transfer', async () => {
    await writeArtifact(artifact, { version: 'v4', changed: 3 * 1024 * 1024, seed: 11 });
    const victim = agents.find((a) => a.name === 'eu-2')!;
    // Chunks the victim received that are in no release yet, from its status endpoint.
    const pooled = async () => {
      const res = await fetch(`${victim.url}/v1/status`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      }).catch(() => undefined);
      return res?.ok ? ((await res.json()) as { pooled: number }).pooled : -1;
    };
    const before = await pooled();
    const pending = deploy('v4', ['--max-rate', '1MiB']);
    // Kill the agent once part of the release has landed in its chunk pool (--max-rate keeps the
    // transfer going for seconds; a loaded machine only makes it slower).
    const deadline = Date.now() + 90_000;
    while ((await pooled()) < before + 4) {
      if (Date.now() > deadline) throw new Error('timed out waiting for chunks to land on eu-2');
      await new Promise((res) => setTimeout(res, 25));
    }
    const landed = (await pooled()) - before;
    victim.proc.kill('SIGKILL');
    const failed = await pending;
    expect(failed.code, failed.stdout).toBe(1);
    expect(failed.summary!.status).toBe('failed');
    expect(failed.summary!.targets.find((t) => t.target === 'eu-2')!.status).toBe('stage-failed');
    expect(failed.summary!.targets.some((t) => t.status === 'active')).toBe(false);
    // The killed agent's app kept serving; nobody switched.
    expect(await versions()).toEqual(Array(6).fill('v2'));

    const restarted = await startAgent(victim, tokenFile);
    agents[agents.indexOf(victim)] = restarted;
    const retry = await deploy('v4');
    expect(retry.code, retry.stdout + retry.stderr).toBe(0);
    expect(await versions()).toEqual(Array(6).fill('v4'));
    const first = failed.summary!.targets;
    const again = retry.summary!.targets;
    const eu2 = again.find((t) => t.target === 'eu-2')!;
    const others = again.filter((t) => t.target !== 'eu-2');
    // Hosts that finished staging before do not transfer again...
    expect(others.every((t) => t.chunksFetched === 0)).toBe(true);
    // ...and the killed one fetches fewer chunks than the release needed from scratch.
    const needed = first.find((t) => t.target === 'eu-1')!.chunksFetched;
    expect(landed).toBeGreaterThan(0);
    expect(eu2.chunksFetched, JSON.stringify({ landed, eu2, needed })).toBeLessThan(needed);
    expect(eu2.chunksReused).toBeGreaterThan(first.find((t) => t.target === 'eu-1')!.chunksReused);
  });

  it('rolls back on request and lists deployments', async () => {
    const r = await cli(['rollback', 'prod'], root);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/from v4 to v2/);
    expect(await versions()).toEqual(Array(6).fill('v2'));
    const list = await cli(['deployments', '--json'], root);
    expect(list.code).toBe(0);
    const rows = JSON.parse(list.stdout) as {
      kind: string;
      version: string;
      status: string;
      targets: { bytesSent: number; phases: { name: string; at: number }[] }[];
    }[];
    expect(rows.map((d) => `${d.kind}:${d.version}:${d.status}`)).toEqual([
      'rollback:v2:success',
      'deploy:v4:success',
      'deploy:v4:failed',
      'deploy:v3:rolled-back',
      'deploy:v2:success',
      'deploy:v1:success',
    ]);
    expect(rows[1]!.targets).toHaveLength(6);
    // Each target's phases in the order they happened, as the dashboard shows them.
    for (const t of rows[1]!.targets) {
      expect(t.phases.slice(0, 2).map((p) => p.name)).toEqual(['stage', 'activate']);
      expect(t.phases.map((p) => p.at)).toEqual([...t.phases.map((p) => p.at)].sort((a, b) => a - b));
    }
    const text = await cli(['deployments'], root);
    expect(text.stdout).toMatch(/rolled-back/);
  });
});
