/** A local fleet for end-to-end deploy tests: agents as separate processes, an app artifact, the CLI. */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { noise } from '../../bench/lib/noise.js';

export { noise };

export const BIN = path.resolve(import.meta.dirname, '../../bin/slipway.js');

export interface AgentProc {
  name: string;
  region: string;
  dir: string;
  port: number;
  appPort: number;
  url: string;
  proc: ChildProcess;
}

import { freePort } from '../helpers/ports.js';

/**
 * The `targets:` entries of slipway.yml for these agents (each app on its own port, told to it as
 * PORT), indented for a region; `env` adds more variables to each target's environment.
 */
export function targetLines(
  agents: readonly Pick<AgentProc, 'name' | 'url' | 'appPort'>[],
  env = '',
): string[] {
  return agents.flatMap((a) => [
    `          - name: ${a.name}`,
    `            agent: ${a.url}`,
    `            app: http://127.0.0.1:${a.appPort}`,
    `            env: { PORT: ${a.appPort}${env ? `, ${env}` : ''} }`,
  ]);
}

/**
 * slipway.yml of one environment, `prod`, deploying `dist` to one target (`t1` at `agentUrl`,
 * region `eu`), its token in the file `agent.token`, with a task `build` that does nothing.
 */
export function loneTargetPipeline(agentUrl: string): string {
  return [
    'version: 1',
    'tasks:',
    '  build: { run: "true" }',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    token: { file: agent.token }',
    '    regions:',
    '      eu:',
    '        traffic: 100',
    '        targets:',
    `          - { name: t1, agent: "${agentUrl}" }`,
    '',
  ].join('\n');
}

/** A port that was free a moment ago (agents need fixed ports: slipway.yml names them). */
export { freePort };

export async function tmpdir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `slipway-${prefix}-`));
}

/** Starts `slipway agent` (with `env` added to the test's environment) and waits until it listens. */
export async function startAgent(
  a: Omit<AgentProc, 'proc' | 'url'>,
  tokenFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<AgentProc> {
  await mkdir(a.dir, { recursive: true });
  const proc = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      '--dir',
      a.dir,
      '--listen',
      `127.0.0.1:${a.port}`,
      '--token-file',
      tokenFile,
      '--keep',
      '3',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    },
  );
  let out = '';
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      out += String(d);
      if (out.includes('listening on')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`agent ${a.name} exited ${code}: ${out}`)));
  });
  return { ...a, proc, url: `http://127.0.0.1:${a.port}` };
}

/**
 * Starts an agent on ports drawn from the test band, drawing again when its port was taken
 * between the draw and the bind (the agent then exits 2 saying the address is in use).
 */
export async function startAgentOnFreePorts(
  a: Omit<AgentProc, 'proc' | 'url' | 'port' | 'appPort'>,
  tokenFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<AgentProc> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAgent({ ...a, port: await freePort(), appPort: await freePort() }, tokenFile, env);
    } catch (e) {
      if (attempt >= 5 || !/already in use/.test(String(e))) throw e;
    }
  }
}

/** Stops an agent gracefully (it stops its app too). */
export async function stopAgent(a: AgentProc): Promise<void> {
  if (a.proc.exitCode !== null || a.proc.signalCode !== null) return;
  a.proc.kill('SIGTERM');
  await once(a.proc, 'exit');
}

/** Runs the built CLI; resolves with its exit code and output. */
export async function cli(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => {
    stdout += String(d);
  });
  proc.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const [code] = (await once(proc, 'exit')) as [number | null];
  return { code: code ?? 1, stdout, stderr };
}

const SERVER = `import http from 'node:http';
import fs from 'node:fs';
const version = fs.readFileSync(new URL('./VERSION', import.meta.url), 'utf8').trim();
const failing = fs.existsSync(new URL('./FAIL_HEALTH', import.meta.url));
http
  .createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(version);
    } else {
      res.writeHead(404);
      res.end();
    }
  })
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

/**
 * Writes the app artifact: server.mjs answering /health with VERSION, and `files` data files of
 * `fileBytes` each. `changed` overwrites that many bytes in the middle of data-0.
 */
export async function writeArtifact(
  dir: string,
  opts: {
    version: string;
    failHealth?: boolean;
    files?: number;
    fileBytes?: number;
    changed?: number;
    seed?: number;
  },
): Promise<number> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(path.join(dir, 'server.mjs'), SERVER);
  await writeFile(path.join(dir, 'VERSION'), `${opts.version}\n`);
  if (opts.failHealth) await writeFile(path.join(dir, 'FAIL_HEALTH'), 'yes\n');
  const files = opts.files ?? 8;
  const size = opts.fileBytes ?? 1024 * 1024;
  let total = 0;
  // The change starts in the middle of data-0 and runs on into the next files as needed.
  const change = noise(opts.changed ?? 0, opts.seed ?? 7);
  let pos = -Math.floor(size / 2);
  for (let i = 0; i < files; i++) {
    const data = noise(size, 1000 + i);
    if (pos + size > 0 && pos < change.length) {
      change.copy(data, Math.max(0, -pos), Math.max(0, pos), Math.min(change.length, pos + size));
    }
    pos += size;
    await writeFile(path.join(dir, 'data', `data-${i}.bin`), data);
    total += size;
  }
  return total;
}

/** Asks an app for its /health; resolves with status and body, or undefined when it is down. */
export async function appHealth(port: number): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: (await res.text()).trim() };
  } catch {
    return undefined;
  }
}
