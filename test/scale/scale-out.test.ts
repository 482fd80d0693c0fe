/**
 * Scale-out end to end: the real Redis, the real turborepo-remote-cache server and worker
 * processes of the built CLI, each in its own clone of the repository.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { twentyTasks } from './graph.js';
import { type Rig, redisAvailable, runCoordinator, startRig } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping scale-out tests: no Redis on 127.0.0.1:6379');

function outputs(dir: string): Record<string, string> {
  const out = path.join(dir, 'out');
  return Object.fromEntries(
    readdirSync(out)
      .sort()
      .map((f) => [f, readFileSync(path.join(out, f), 'utf8')]),
  );
}

describe.skipIf(!hasRedis)('slipway run --queue with three workers', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(twentyTasks());
    await Promise.all(['w1', 'w2', 'w3'].map((n) => rig.worker(n, ['--metrics', '127.0.0.1:0'])));
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('builds a 20-task graph on the workers with outputs byte-identical to a local run', async () => {
    const local = rig.clone('local');
    const l = await runCli(['run', '--summary', 'summary.json'], {
      cwd: local,
      env: { ...rig.env, SLIPWAY_REMOTE_CACHE_URL: '' },
      timeoutMs: 300_000,
    });
    expect(l.code, l.stderr).toBe(0);

    const { dir: coord, result: r, summary } = await runCoordinator(rig);
    expect(summary.tasks).toHaveLength(20);
    expect(summary.tasks.every((t) => t.status === 'success')).toBe(true);
    const workers = new Set(summary.tasks.map((t) => t.worker));
    expect([...workers].every((w) => w === 'w1' || w === 'w2' || w === 'w3')).toBe(true);
    // The coordinator's checkout holds every output, exactly as the local run wrote them.
    expect(outputs(coord)).toEqual(outputs(local));
    // Task output came back to the coordinator's terminal.
    expect(r.stdout).toContain('t19 done');
  });

  it('workers serve /metrics, /healthz and /readyz; each task is counted once across the fleet', async () => {
    const finished = new Map<string, number>();
    for (const w of rig.workers) {
      const url = /metrics (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(w.proc.stdout())?.[1];
      expect(url, w.proc.stdout()).toBeDefined();
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/^slipway_queue_length 0$/m);
      expect(text).toMatch(/^slipway_queue_oldest_wait_seconds 0$/m);
      expect(text).toMatch(/^slipway_worker_busy_slots 0$/m);
      for (const m of text.matchAll(/^slipway_jobs_finished_total\{task="(t\d\d)"\} (\d+)$/gm)) {
        finished.set(m[1]!, (finished.get(m[1]!) ?? 0) + Number(m[2]));
        expect(text).toContain(`slipway_task_duration_seconds_count{task="${m[1]}"} ${m[2]}`);
      }
    }
    expect(finished.size).toBe(20);
    expect([...finished.values()].every((n) => n === 1)).toBe(true);
  });
});

/** `run --queue -c 2` in a new clone, with no worker: the coordinator takes every job itself. */
async function coordinatorOnly(rig: Rig) {
  const coord = rig.clone('coordinator');
  const r = await runCli(['run', '--queue', rig.queue, '-c', '2', '--summary', 'summary.json'], {
    cwd: coord,
    env: rig.env,
    timeoutMs: 300_000,
  });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(coord, 'summary.json'), 'utf8')) as {
    tasks: { status: string; worker?: string }[];
  };
  return { coord, r, summary };
}

describe.skipIf(!hasRedis)('slipway run --queue -c N', () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig(twentyTasks());
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('with no worker around, the coordinator takes the jobs itself and its checkout gets every output', async () => {
    const { coord, r, summary } = await coordinatorOnly(rig);
    expect(summary.tasks.map((t) => t.worker)).toEqual(Array(20).fill('coordinator'));
    expect(r.stderr).not.toMatch(/could not restore/);
    expect(Object.keys(outputs(coord))).toHaveLength(20);
    expect(outputs(coord)['t19.txt']).toMatch(/built t19\n$/);
  });
});

describe.skipIf(!hasRedis)('slipway run --queue, a wide wave', () => {
  let rig: Rig;
  beforeAll(async () => {
    // Twelve independent tasks: all twelve jobs are out at once.
    const tasks = Object.fromEntries(
      Array.from({ length: 12 }, (_, i) => [
        `w${String(i).padStart(2, '0')}`,
        { run: `echo w${i}`, inputs: ['slipway.yml'] },
      ]),
    );
    rig = await startRig({ 'slipway.yml': stringify({ name: 'wide', tasks }) });
  });
  afterAll(async () => {
    await rig?.close();
  });

  // Twelve outputs saved at once also once deadlocked the remote cache's uploads (fixed in
  // cache/layered-cache.ts; test/faults/remote-faults.test.ts holds the uploads to show it).
  it('runs more than ten jobs at once, saving every output, without Node warning of a listener leak', async () => {
    const { r, summary } = await coordinatorOnly(rig);
    expect(summary.tasks.map((t) => t.status)).toEqual(Array(12).fill('success'));
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning/);
  });
});
