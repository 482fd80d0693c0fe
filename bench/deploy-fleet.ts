/**
 * Local fleets for the deploy bench: Slipway agents as separate processes grouped into regions,
 * and the baseline's receivers (a tar stream over HTTP piped into `tar -x`), also processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Environment } from '../src/deploy/environment.js';
import { listeningUrl } from './lib/agent-proc.js';

export interface Fleet {
  env: Environment;
  procs: ChildProcess[];
  dirs: string[];
  stop(): Promise<void>;
}

async function stopAll(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill('SIGTERM');
      await once(p, 'exit');
    }),
  );
}

/** Starts `regions × perRegion` agents; region i has traffic i+1 (the first is the canary). */
export async function startFleet(opts: {
  root: string;
  bin: string;
  dir: string;
  artifact: string;
  regions: number;
  perRegion: number;
}): Promise<Fleet> {
  const token = 'bench-token-0123456789abcdef';
  const tokenFile = join(opts.dir, 'token');
  mkdirSync(opts.dir, { recursive: true });
  writeFileSync(tokenFile, token);
  const procs: ChildProcess[] = [];
  const dirs: string[] = [];
  const regions: Environment['regions'] = [];
  for (let r = 0; r < opts.regions; r++) {
    const name = `r${r + 1}`;
    const targets: Environment['regions'][number]['targets'] = [];
    for (let i = 0; i < opts.perRegion; i++) {
      const dir = join(opts.dir, `${name}-${i + 1}`);
      const proc = spawn(
        process.execPath,
        [opts.bin, 'agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      procs.push(proc);
      dirs.push(dir);
      targets.push({
        name: `${name}-${i + 1}`,
        region: name,
        agentUrl: await listeningUrl(proc, 'agent'),
        token,
        env: {},
      });
    }
    regions.push({ name, traffic: r + 1, maxUnavailable: 1, targets });
  }
  const env: Environment = {
    name: 'bench',
    artifact: opts.artifact,
    env: {},
    keepReleases: 3,
    relay: false,
    origin: { host: '127.0.0.1', port: 0 },
    waves: regions.map((r) => [r.name]),
    bakeMs: 0,
    minSamples: 1,
    stageParallelism: 8,
    regions,
  };
  return { env, procs, dirs, stop: () => stopAll(procs) };
}

const RECEIVER = `
const http = require('node:http');
const { spawn } = require('node:child_process');
const dir = process.argv[1];
http.createServer((req, res) => {
  // GNU tar does not sniff compression on a pipe: the sender says.
  const tar = spawn('tar', [req.headers['x-gzip'] ? '-xz' : '-x', '-C', dir], { stdio: ['pipe', 'ignore', 'inherit'] });
  let bytes = 0;
  req.on('data', (d) => { bytes += d.length; });
  req.pipe(tar.stdin);
  tar.on('exit', (code) => { res.writeHead(code === 0 ? 200 : 500); res.end(String(bytes)); });
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });
`;

/** Starts `n` full-copy receivers: each untars an HTTP request body into its folder. */
export async function startReceivers(
  dir: string,
  n: number,
): Promise<{ urls: string[]; stop(): Promise<void> }> {
  const procs: ChildProcess[] = [];
  const urls: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = join(dir, `recv-${i + 1}`);
    mkdirSync(d, { recursive: true });
    const proc = spawn(process.execPath, ['-e', RECEIVER, d], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(proc);
    urls.push(await listeningUrl(proc, 'receiver'));
  }
  return { urls, stop: () => stopAll(procs) };
}

/** Streams `tar -c` of a folder to one receiver; resolves with the bytes sent. */
export function tarTo(url: string, folder: string, gzip: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const tar = spawn('tar', [gzip ? '-cz' : '-c', '-C', folder, '.'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const req = request(
      url,
      { method: 'PUT', headers: { 'content-type': 'application/x-tar', ...(gzip ? { 'x-gzip': '1' } : {}) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (s: string) => {
          body += s;
        });
        res.on('end', () =>
          res.statusCode === 200
            ? resolve(Number(body))
            : reject(new Error(`receiver said ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    tar.stdout.pipe(req);
  });
}
