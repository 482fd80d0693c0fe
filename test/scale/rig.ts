/**
 * A scale-out rig for tests and the benchmark: a git repository with a pipeline, clones of it for
 * the coordinator and each worker, the real turborepo-remote-cache server, worker processes of
 * the built CLI, and a Redis key prefix of the rig's own (removed at the end; nobody else's keys
 * are touched).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { type RemoteServer, startRemoteCache } from '../cache/remote-server.js';
import { type CliProcess, type CliResult, runCli, spawnCli } from '../helpers/cli.js';

export const REDIS_PORT = 6379;

/** Whether Redis answers on 127.0.0.1:6379 (tests skip with a message when not). */
export async function redisAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(REDIS_PORT, '127.0.0.1');
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface Rig {
  root: string;
  origin: string;
  queue: string;
  prefix: string;
  remote: RemoteServer;
  /** Environment of the coordinator and the workers: the remote cache and the signing key. */
  env: Record<string, string>;
  /** A fresh clone of the repository. */
  clone(name: string): string;
  /** Starts `slipway worker` in its own clone; resolves once it says it is ready. */
  worker(name: string, extra?: string[], env?: Record<string, string>): Promise<WorkerProc>;
  redis: Redis;
  workers: WorkerProc[];
  /** Commits a change to the origin (for a new commit). */
  commit(files: Record<string, string>, message: string): string;
  close(): Promise<void>;
}

/** What `runCoordinator` saw: the CLI's result, its clone, and the run summary's tasks. */
export interface CoordinatorRun {
  result: CliResult;
  dir: string;
  summary: { tasks: { id: string; status: string; worker?: string }[] };
}

/**
 * `slipway run --queue` in a fresh clone named `coordinator`, writing its summary; fails the test
 * (with the CLI's output) unless the run exits 0.
 */
export async function runCoordinator(rig: Rig): Promise<CoordinatorRun> {
  const dir = rig.clone('coordinator');
  const result = await runCli(['run', '--queue', rig.queue, '--summary', 'summary.json'], {
    cwd: dir,
    env: rig.env,
    timeoutMs: 300_000,
  });
  if (result.code !== 0)
    throw new Error(`coordinator exited ${result.code}: ${result.stdout}${result.stderr}`);
  const summary = JSON.parse(
    readFileSync(path.join(dir, 'summary.json'), 'utf8'),
  ) as CoordinatorRun['summary'];
  return { result, dir, summary };
}

export interface WorkerProc {
  name: string;
  dir: string;
  proc: CliProcess;
}

export async function startRig(files: Record<string, string>): Promise<Rig> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-scale-'));
  const origin = path.join(root, 'origin');
  mkdirSync(origin);
  git(origin, 'init', '-q', '-b', 'main');
  git(origin, 'config', 'user.email', 'test@example.invalid');
  git(origin, 'config', 'user.name', 'test');
  const write = (files: Record<string, string>) => {
    for (const [rel, text] of Object.entries(files)) {
      const p = path.join(origin, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, text);
    }
  };
  write({ '.gitignore': '.slipway/\nout/\n', ...files });
  git(origin, 'add', '-A');
  git(origin, 'commit', '-q', '-m', 'init');
  const remote = await startRemoteCache();
  const prefix = `slipway-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const queue = `redis://127.0.0.1:${REDIS_PORT}/0?prefix=${prefix}`;
  const env = {
    SLIPWAY_QUEUE_KEY: `key-${randomBytes(8).toString('hex')}`,
    SLIPWAY_REMOTE_CACHE_URL: remote.url,
    SLIPWAY_REMOTE_CACHE_TOKEN: remote.token,
    SLIPWAY_REMOTE_CACHE_TEAM: 'scale',
  };
  const redis = new Redis({ port: REDIS_PORT, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const workers: WorkerProc[] = [];
  const clone = (name: string) => {
    const dir = path.join(root, name);
    execFileSync('git', ['clone', '-q', origin, dir], { stdio: 'ignore' });
    git(dir, 'config', 'user.email', 'test@example.invalid');
    git(dir, 'config', 'user.name', 'test');
    return dir;
  };
  return {
    root,
    origin,
    queue,
    prefix,
    remote,
    env,
    redis,
    workers,
    clone,
    commit(files, message) {
      write(files);
      git(origin, 'add', '-A');
      git(origin, 'commit', '-q', '-m', message);
      return git(origin, 'rev-parse', 'HEAD');
    },
    async worker(name, extra = [], more = {}) {
      const dir = clone(name);
      const proc = spawnCli(['worker', '--queue', queue, '--name', name, ...extra], {
        cwd: dir,
        env: { ...env, ...more },
        timeoutMs: 600_000,
      });
      const w = { name, dir, proc };
      workers.push(w);
      await until(() => proc.stdout().includes('ready') || proc.child.exitCode !== null, 60_000);
      if (!proc.stdout().includes('ready'))
        throw new Error(`worker ${name} did not start: ${proc.stdout()} ${proc.stderr()}`);
      return w;
    },
    async close() {
      for (const w of workers) if (w.proc.child.exitCode === null) w.proc.child.kill('SIGKILL');
      await Promise.all(workers.map((w) => w.proc.done.catch(() => {})));
      // Only this rig's keys.
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await remote.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Polls until `cond` holds or the deadline passes (no timing assertion: the deadline ends hangs). */
export async function until(
  cond: () => boolean | Promise<boolean>,
  deadlineMs = 60_000,
  stepMs = 100,
): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}
