/**
 * A small fleet for the deploy crash tests: three `slipway agent` processes on 127.0.0.1 (each
 * binds port 0 and reports its port, so no agent port is raced for), a canary region of two
 * hosts and a second region of one, and an app artifact whose server can be held back until a
 * gate file exists (to keep a deployment in its health gate for as long as a test needs).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { targetLines } from '../deploy/rig.js';
import { SLIPWAY_BIN } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';

export const TOKEN = 'kill-deploy-token-0123456789';

export interface FleetAgent {
  name: string;
  region: string;
  dir: string;
  url: string;
  appPort: number;
  proc: ChildProcess;
}

/** Starts an agent on port 0 and resolves once it printed the port it listens on. */
async function startAgent(
  name: string,
  region: string,
  root: string,
  tokenFile: string,
): Promise<FleetAgent> {
  const dir = path.join(root, 'hosts', name);
  await mkdir(dir, { recursive: true });
  const proc = spawn(
    process.execPath,
    [SLIPWAY_BIN, 'agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--keep', '4'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`agent ${name} exited ${code}: ${out}`)));
  });
  return { name, region, dir, url, appPort: await freePort(), proc };
}

/** Three agents (canary: a-1, a-2; then b-1) and the slipway.yml naming them. */
export async function startFleet(root: string): Promise<{ agents: FleetAgent[]; gateFile: string }> {
  const tokenFile = path.join(root, 'agent.token');
  await writeFile(tokenFile, `${TOKEN}\n`);
  const agents = [
    await startAgent('a-1', 'a', root, tokenFile),
    await startAgent('a-2', 'a', root, tokenFile),
    await startAgent('b-1', 'b', root, tokenFile),
  ];
  const gateFile = path.join(root, 'GATE_OPEN');
  await writeFile(gateFile, 'open\n');
  const region = (name: string, traffic: number) => [
    `      ${name}:`,
    `        traffic: ${traffic}`,
    '        targets:',
    ...targetLines(
      agents.filter((a) => a.region === name),
      `GATE_FILE: ${JSON.stringify(gateFile)}`,
    ),
  ];
  const yml = [
    'version: 1',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    start: node server.mjs',
    '    token: { file: agent.token }',
    '    keepReleases: 4',
    // Errors (no answer yet) are allowed for as long as a test holds the gate closed.
    '    health: { path: /health, interval: 100ms, timeout: 1s, successes: 1, failures: 0, errors: 100000, deadline: 120s }',
    '    strategy: { maxUnavailable: 2 }',
    '    regions:',
    ...region('a', 10),
    ...region('b', 90),
  ];
  await writeFile(path.join(root, 'slipway.yml'), `${yml.join('\n')}\n`);
  return { agents, gateFile };
}

export async function stopFleet(agents: FleetAgent[]): Promise<void> {
  await Promise.all(
    agents.map(async (a) => {
      if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
      a.proc.kill('SIGTERM');
      await once(a.proc, 'exit');
    }),
  );
}

// The app: answers /health with its VERSION (500 when FAIL_HEALTH exists); with GATE_FILE set it
// does not listen before that file exists.
const SERVER = `import http from 'node:http';
import fs from 'node:fs';
const version = fs.readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim();
const failing = fs.existsSync(new URL('./FAIL_HEALTH', import.meta.url));
const serve = () =>
  http
    .createServer((req, res) => {
      res.writeHead(req.url === '/health' ? (failing ? 500 : 200) : 404);
      res.end(version);
    })
    .listen(Number(process.env.PORT), '127.0.0.1');
const gate = process.env.GATE_FILE;
const wait = () => (!gate || fs.existsSync(gate) ? serve() : setTimeout(wait, 50));
wait();
`;

/** Writes the artifact of `version` into `dir`. */
export async function writeApp(
  dir: string,
  version: string,
  opts: { failHealth?: boolean } = {},
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(path.join(dir, 'server.mjs'), SERVER);
  await writeFile(path.join(dir, 'VERSION'), `${version}\n`);
  await writeFile(path.join(dir, 'data', 'payload.txt'), `${version}\n`.repeat(20_000));
  if (opts.failHealth) await writeFile(path.join(dir, 'FAIL_HEALTH'), 'yes\n');
}

/** What each host runs: its agent's `current` release version (null: none). */
export async function fleetVersions(agents: FleetAgent[]): Promise<(string | null)[]> {
  return Promise.all(
    agents.map(async (a) => {
      const res = await fetch(`${a.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const s = (await res.json()) as { current: string | null; releases: { id: string; version: string }[] };
      return s.releases.find((r) => r.id === s.current)?.version ?? null;
    }),
  );
}

/** What each host's app answers on /health (undefined: nothing answers). */
export async function appVersions(agents: FleetAgent[]): Promise<(string | undefined)[]> {
  return Promise.all(
    agents.map(async (a) => {
      try {
        const res = await fetch(`http://127.0.0.1:${a.appPort}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        return (await res.text()).trim();
      } catch {
        return undefined;
      }
    }),
  );
}

/** Polls `check` until it is true (a generous deadline: the machine is shared and loaded). */
export async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  ms = 60_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
