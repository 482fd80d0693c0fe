/**
 * zstd where both ends have it, Brotli where one lacks it, and never a failed deploy for it: two
 * agents in one region (the first relays for the second), one started with SLIPWAY_ZSTD=0 as a
 * host without the optional addon; deployers with and without zstd. Every release is checked
 * byte-identical to its artifact.
 */
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeploySummary } from '../../src/deploy/summary.js';
import {
  type AgentProc,
  cli,
  startAgentOnFreePorts,
  stopAgent,
  targetLines,
  tmpdir,
  writeArtifact,
} from './rig.js';

const TOKEN = 'e2e-codec-token-0123456789abcdef';
let root: string;
let artifact: string;
const agents: AgentProc[] = [];

/** Source-like text, different per seed. */
function text(n: number, seed: number): string {
  const words = ['import', 'export', 'const', 'return', 'render', 'props', '=>', '{}', 'null', 'await'];
  let x = seed;
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    const w = `${words[x % words.length]}${x % 7 === 0 ? x % 991 : ''} `;
    parts.push(w);
    len += w.length;
  }
  return parts.join('').slice(0, n);
}

async function deploy(version: string, env: NodeJS.ProcessEnv = {}) {
  const summaryFile = path.join(root, `summary-${version}.json`);
  const r = await cli(['deploy', 'prod', '--version', version, '--summary', summaryFile], root, env);
  const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as DeploySummary;
  return { ...r, summary };
}

/** Each agent's current release is byte-identical to the artifact. */
function expectIdentical(): void {
  for (const a of agents) {
    const r = spawnSync('diff', ['-r', '--no-dereference', artifact, `${path.join(a.dir, 'current')}/`], {
      encoding: 'utf8',
    });
    expect(r.status, `${a.name}: ${r.stdout}${r.stderr}`).toBe(0);
  }
}

let bundle = '';
async function writeVersion(version: string): Promise<void> {
  await writeArtifact(artifact, { version, files: 2, fileBytes: 200_000 });
  await writeFile(path.join(artifact, 'bundle.js'), bundle);
}

beforeAll(async () => {
  root = await tmpdir('codecs-e2e');
  artifact = path.join(root, 'dist');
  const tokenFile = path.join(root, 'agent.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  agents.push(
    await startAgentOnFreePorts({ name: 'eu-1', region: 'eu', dir: path.join(root, 'eu-1') }, tokenFile),
  );
  agents.push(
    await startAgentOnFreePorts({ name: 'eu-2', region: 'eu', dir: path.join(root, 'eu-2') }, tokenFile, {
      SLIPWAY_ZSTD: '0',
    }),
  );
  const yml = [
    'version: 1',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    start: node server.mjs',
    '    token: { file: agent.token }',
    '    relay: true',
    '    health: { path: /health, interval: 150ms, timeout: 1s, successes: 1, failures: 1, errors: 200, deadline: 30s }',
    '    strategy: { maxUnavailable: 1, bake: 100ms, minSamples: 1 }',
    '    regions:',
    '      eu:',
    '        traffic: 100',
    '        targets:',
    ...targetLines(agents),
  ];
  await writeFile(path.join(root, 'slipway.yml'), `${yml.join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map(stopAgent));
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

describe('deploy codecs: zstd where both ends have it', { timeout: 240_000 }, () => {
  it('reports what each agent can decode', async () => {
    const codecs = await Promise.all(
      agents.map(async (a) => {
        const res = await fetch(`${a.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
        return ((await res.json()) as { codecs?: string[] }).codecs;
      }),
    );
    expect(codecs).toEqual([['zstd'], []]);
  });

  it('deploys to an agent with zstd and one without (relayed), then an edit as chunk deltas', async () => {
    bundle = text(600_000, 1);
    await writeVersion('v1');
    const first = await deploy('v1');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expectIdentical();
    // A 2 KB edit in the middle of the bundle: both agents get deltas, whichever codec.
    bundle = `${bundle.slice(0, 300_000)}${text(2048, 2)}${bundle.slice(302_048)}`;
    await writeVersion('v2');
    const edit = await deploy('v2');
    expect(edit.code, edit.stdout + edit.stderr).toBe(0);
    expectIdentical();
    // The two changed chunks whole would be tens of kilobytes (measured: 1.1 KB with zstd, 1.9 KB
    // without, manifest delta and requests included).
    for (const t of edit.summary.targets) expect(t.bytesSent, t.target).toBeLessThan(6_000);
  });

  it('deploys from a deployer without zstd to both', async () => {
    bundle = `${bundle.slice(0, 100_000)}${text(4096, 3)}${bundle.slice(100_000)}`;
    await writeVersion('v3');
    const r = await deploy('v3', { SLIPWAY_ZSTD: '0' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectIdentical();
  });
});
