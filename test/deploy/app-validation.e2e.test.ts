/**
 * Application validation after each deploy, with real agents and apps: the agent measures the
 * app's start-up (start to first healthy answer), resident memory and CPU after settling; they
 * are recorded per target and shown by `slipway report`; a release over its deploy budget fails
 * the first wave's gate and is rolled back before the second wave sees it. Budgets are on memory
 * (a release that holds 300 MiB), not on time, so a busy machine cannot change the outcome; the
 * start-up assertion is a lower bound set by the app's own sleep.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsReport } from '../../src/analyze/report.js';
import { type AgentProc, appHealth, cli, startAgentOnFreePorts, stopAgent, tmpdir } from './rig.js';

const TOKEN = 'app-validation-token-0123456789';
let root: string;
const agents: AgentProc[] = [];

// Waits DELAY_MS before it listens, and holds HOLD_MIB of touched memory.
const SERVER = `
import http from 'node:http';
import { readFileSync } from 'node:fs';
const read = (f, d) => { try { return readFileSync(new URL(f, import.meta.url), 'utf8').trim(); } catch { return d; } };
const version = read('./VERSION', '?');
const hold = Buffer.alloc(Number(read('./HOLD_MIB', '0')) * 1024 * 1024, 1);
setTimeout(() => {
  http.createServer((req, res) => res.end(version + (hold.length ? '' : ''))).listen(Number(process.env.PORT), '127.0.0.1');
}, Number(read('./DELAY_MS', '0')));
`;

async function release(version: string, o: { delayMs?: number; holdMiB?: number } = {}) {
  const dir = path.join(root, 'dist');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'server.mjs'), SERVER);
  await writeFile(path.join(dir, 'VERSION'), `${version}\n`);
  if (o.delayMs) await writeFile(path.join(dir, 'DELAY_MS'), String(o.delayMs));
  if (o.holdMiB) await writeFile(path.join(dir, 'HOLD_MIB'), String(o.holdMiB));
}

beforeAll(async () => {
  root = await tmpdir('app-validation');
  const tokenFile = path.join(root, 'agent.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  agents.push(
    await startAgentOnFreePorts({ name: 'ap-1', region: 'ap', dir: path.join(root, 'ap-1') }, tokenFile),
  );
  agents.push(
    await startAgentOnFreePorts({ name: 'eu-1', region: 'eu', dir: path.join(root, 'eu-1') }, tokenFile),
  );
  const yml = [
    'version: 1',
    'budgets:',
    '  deploy: { rss: 200MiB, settle: 300ms }',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    start: node server.mjs',
    '    token: { file: agent.token }',
    '    health: { path: /health, interval: 150ms, timeout: 1s, successes: 1, errors: 400, deadline: 60s }',
    '    strategy: { waves: [[ap], [eu]] }',
    '    regions:',
    ...agents.flatMap((a) => [
      `      ${a.region}:`,
      '        targets:',
      `          - { name: ${a.name}, agent: "${a.url}", app: "http://127.0.0.1:${a.appPort}", env: { PORT: ${a.appPort} } }`,
    ]),
  ];
  await writeFile(path.join(root, 'slipway.yml'), `${yml.join('\n')}\n`);
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map(stopAgent));
  if (root) await rm(root, { recursive: true, force: true });
}, 120_000);

describe('app validation after deploy', { timeout: 240_000 }, () => {
  it('measures start-up, memory and CPU on every target and records them', async () => {
    await release('v1', { delayMs: 700 });
    const r = await cli(['deploy', 'prod', '--version', 'v1'], root);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/measured {2}ap-1: start-up \S+, [\d.]+ MiB resident, [\d.]+ cores after 300ms/);
    const rep = await cli(['report', '--json'], root);
    expect(rep.code, rep.stderr).toBe(0);
    const env = (JSON.parse(rep.stdout) as AnalyticsReport).appValidation.find(
      (e) => e.environment === 'prod',
    )!;
    expect(env.deploys).toHaveLength(1);
    const d = env.deploys[0]!;
    expect(d.targets).toBe(2);
    // The app sleeps 700 ms before it listens: start-up cannot be shorter.
    expect(d.startupMs).toBeGreaterThanOrEqual(700);
    expect(d.rssBytes).toBeGreaterThan(1024 * 1024);
    expect(d.cpuCores).not.toBeNull();
    expect(env.note).toMatch(/too few for change points/);
    const text = await cli(['report'], root);
    expect(text.stdout).toMatch(/App after deploy/);
    expect(text.stdout).toMatch(/prod: 1 deploy measured/);
  });

  it('fails the first wave when a release exceeds the memory budget, before the second wave', async () => {
    await release('v2', { holdMiB: 300 });
    const r = await cli(['deploy', 'prod', '--version', 'v2'], root);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /wave 1 gate: Failed \(deploy budget exceeded: ap-1: resident memory .* exceeds the budget of 200\.0 MiB\)/,
    );
    expect(r.stdout).toMatch(/OVER BUDGET/);
    // ap went back to v1; eu never got v2.
    expect((await appHealth(agents[0]!.appPort))?.body).toBe('v1');
    expect((await appHealth(agents[1]!.appPort))?.body).toBe('v1');
    const rep = JSON.parse((await cli(['report', '--json'], root)).stdout) as AnalyticsReport;
    const last = rep.appValidation[0]!.deploys.at(-1)!;
    expect(last.targets).toBe(1);
    expect(last.rssBytes).toBeGreaterThan(200 * 1024 * 1024);
  });
});
