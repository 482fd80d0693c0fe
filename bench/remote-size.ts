/**
 * Bytes a remote cache stores for the same task, Slipway vs turbo: one package whose build
 * writes text outputs (JavaScript libraries copied from node_modules), run by each tool against
 * the real turborepo-remote-cache server; the figure is the size of the body each uploaded.
 * Slipway's body is its cache entry (outputs archive and log) compressed; turbo's is its
 * zstd-compressed tarball. `node dist/bench/run.js --only remote-size`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { turboBinary } from './lib/runners.js';

const TOKEN = 'bench-token';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startServer(root: string, storage: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/turborepo-remote-cache/dist/cli.js')],
    {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        TURBO_TOKEN: TOKEN,
        STORAGE_PROVIDER: 'local',
        STORAGE_PATH: storage,
        STORAGE_PATH_USE_TMP_FOLDER: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/v8/artifacts/status`, { headers: { authorization: `Bearer ${TOKEN}` } })).ok)
        break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error('turborepo-remote-cache did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, child };
}

const sizeOfOnlyFile = (dir: string): number => {
  const files = readdirSync(dir).filter((f) => !f.endsWith('.tag'));
  if (files.length !== 1) throw new Error(`expected one artifact in ${dir}, found ${files.length}`);
  return statSync(path.join(dir, files[0]!)).size;
};

export async function benchRemoteSize(o: BenchOptions): Promise<BenchRow[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-bench-remote-size-'));
  const storage = path.join(tmp, 'storage');
  const repo = path.join(tmp, 'repo');
  mkdirSync(path.join(repo, 'packages/a'), { recursive: true });
  const sources = ['yaml/dist', 'commander/lib', 'kysely/dist/esm/query-builder'].map((p) =>
    path.join(o.root, 'node_modules', p),
  );
  const copy = sources.map((s, i) => `cp -r ${JSON.stringify(s)} dist/${i}`).join(' && ');
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  const write = (rel: string, v: unknown) =>
    writeFileSync(path.join(repo, rel), typeof v === 'string' ? v : JSON.stringify(v));
  write('package.json', {
    name: 'root',
    private: true,
    packageManager: `npm@${npmVersion}`,
    workspaces: ['packages/*'],
  });
  write('package-lock.json', {
    name: 'root',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'root', workspaces: ['packages/*'] },
      'node_modules/a': { resolved: 'packages/a', link: true },
      'packages/a': { name: 'a', version: '1.0.0' },
    },
  });
  write('packages/a/package.json', {
    name: 'a',
    version: '1.0.0',
    scripts: { build: `rm -rf dist && mkdir dist && ${copy}` },
  });
  write('turbo.json', { tasks: { build: { outputs: ['dist/**'] } } });
  write('slipway.yml', 'version: 1\nworkspaces:\n  tasks:\n    build: { outputs: ["dist/**"] }\n');
  execFileSync('git', ['init', '-q'], { cwd: repo });
  execFileSync('git', ['add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.email=b@b', '-c', 'user.name=b', 'commit', '-qm', 'bench'], { cwd: repo });
  const server = await startServer(o.root, storage);
  try {
    const env = {
      ...process.env,
      TURBO_TELEMETRY_DISABLED: '1',
      DO_NOT_TRACK: '1',
      TURBO_NO_UPDATE_NOTIFIER: '1',
    };
    execFileSync(turboBinary(o.root), ['run', 'build', '--no-daemon', '--output-logs=none'], {
      cwd: repo,
      env: { ...env, TURBO_API: server.url, TURBO_TOKEN: TOKEN, TURBO_TEAM: 'turbo' },
      stdio: 'ignore',
    });
    rmSync(path.join(repo, 'packages/a/dist'), { recursive: true, force: true });
    execFileSync(process.execPath, [path.join(o.root, 'bin/slipway.js'), 'run'], {
      cwd: repo,
      env: {
        ...env,
        SLIPWAY_REMOTE_CACHE_URL: server.url,
        SLIPWAY_REMOTE_CACHE_TOKEN: TOKEN,
        SLIPWAY_REMOTE_CACHE_TEAM: 'slipway',
      },
      stdio: 'ignore',
    });
    const turbo = sizeOfOnlyFile(path.join(storage, 'turbo'));
    const slipway = sizeOfOnlyFile(path.join(storage, 'slipway'));
    const entries = path.join(repo, '.slipway/cache/entries');
    const entry = sizeOfOnlyFile(path.join(entries, readdirSync(entries)[0]!));
    o.log(`remote-size: turbo ${turbo} B, slipway ${slipway} B (entry ${entry} B uncompressed)`);
    return [
      {
        suite: 'remote-size',
        case: 'text outputs (JS libraries)',
        metric: 'slipway/turbo body',
        value: slipway / turbo,
        unit: 'x',
        target: '<= 1.10',
        pass: slipway / turbo <= 1.1,
        note: `${slipway} B vs ${turbo} B`,
      },
      {
        suite: 'remote-size',
        case: 'text outputs (JS libraries)',
        metric: 'uncompressed entry/turbo',
        value: entry / turbo,
        unit: 'x',
        note: 'what Slipway uploaded before compression',
      },
    ];
  } finally {
    server.child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}
