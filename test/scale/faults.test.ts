/**
 * Scale-out under faults, with the real Redis, remote cache and worker processes: a worker killed
 * mid-task, the coordinator killed mid-run, forged jobs, an unreachable queue, a missing remote
 * cache. Waits poll for conditions; nothing here judges speed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { signJob } from '../../src/scale/job.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { type Rig, redisAvailable, startRig, until } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping scale-out fault tests: no Redis on 127.0.0.1:6379');

/** Tasks that drop a marker in $MARKS (the workers' environment) as they start, then sleep. */
function markedPipeline(ids: string[], sleep: number): Record<string, string> {
  const tasks = Object.fromEntries(
    ids.map((id) => [
      id,
      {
        run: `touch "$MARKS/${id}.$SLIPWAY_WORKER_NAME" && sleep ${sleep} && mkdir -p out && echo ${id} > out/${id}.txt`,
        inputs: ['slipway.yml'],
        outputs: [`out/${id}.txt`],
      },
    ]),
  );
  return { 'slipway.yml': stringify({ name: 'faults', tasks }) };
}

function marks(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe.skipIf(!hasRedis)('scale-out faults', () => {
  let rig: Rig;
  let marksDir: string;
  beforeAll(async () => {
    rig = await startRig(markedPipeline(['slow', 'a1', 'a2', 'a3', 'a4', 'a5', 'f1'], 4));
    marksDir = path.join(rig.root, 'marks');
    mkdirSync(marksDir);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('a worker killed mid-task: the task runs again on another worker and counts once in history', async () => {
    // A short lock (renewed every 1.5 s): the dead worker's job is found stalled within seconds.
    const lock = ['--lock-duration', '3s'];
    const w1 = await rig.worker('k1', lock, { MARKS: marksDir, SLIPWAY_WORKER_NAME: 'k1' });
    const coord = rig.clone('coord-kill-worker');
    const run = spawnCli(['run', 'slow', '--queue', rig.queue, '--summary', 'summary.json'], {
      cwd: coord,
      env: rig.env,
      timeoutMs: 300_000,
    });
    expect(await until(() => existsSync(path.join(marksDir, 'slow.k1')), 120_000)).toBe(true);
    w1.proc.child.kill('SIGKILL');
    await w1.proc.done;
    // Only now is there another worker: the job can only finish there.
    await rig.worker('k2', lock, { MARKS: marksDir, SLIPWAY_WORKER_NAME: 'k2' });
    const r = await run.done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(marks(marksDir)).toContain('slow.k2');
    const summary = JSON.parse(readFileSync(path.join(coord, 'summary.json'), 'utf8'));
    expect(summary.tasks).toMatchObject([{ id: 'slow', status: 'success', worker: 'k2' }]);
    expect(readFileSync(path.join(coord, 'out/slow.txt'), 'utf8')).toBe('slow\n');
    const db = new Database(path.join(coord, '.slipway/history.db'), { readonly: true });
    const rows = db.prepare("select status from task_runs where task_id = 'slow'").all();
    db.close();
    expect(rows).toEqual([{ status: 'success' }]);
  });

  it('the coordinator killed: no job of its run starts afterwards', async () => {
    await rig.worker('c1', [], { MARKS: marksDir, SLIPWAY_WORKER_NAME: 'c1' });
    const coord = rig.clone('coord-killed');
    const run = spawnCli(['run', 'a1', 'a2', 'a3', 'a4', 'a5', '--queue', rig.queue], {
      cwd: coord,
      env: rig.env,
      timeoutMs: 300_000,
    });
    const started = () => marks(marksDir).filter((m) => /^a\d\./.test(m));
    expect(await until(() => started().length > 0, 120_000)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    // Once the run's heartbeat key has expired, workers take none of its jobs.
    expect(
      await until(async () => (await rig.redis.keys(`${rig.prefix}:run:*:alive`)).length === 0, 60_000),
    ).toBe(true);
    // A command whose worker checked the heartbeat just before it expired may still be starting:
    // let such a start land before taking the snapshot (a settle wait, not a timing claim).
    await new Promise((r) => setTimeout(r, 2000));
    const before = started();
    const queue = new Queue('tasks', { connection: { host: '127.0.0.1', port: 6379 }, prefix: rig.prefix });
    try {
      // The worker drains the run's remaining jobs by refusing them.
      expect(
        await until(async () => {
          const c = await queue.getJobCounts('wait', 'prioritized', 'active');
          return (c.wait ?? 0) + (c.prioritized ?? 0) + (c.active ?? 0) === 0;
        }, 120_000),
      ).toBe(true);
    } finally {
      await queue.close();
    }
    expect(before.length).toBeLessThan(5);
    expect(started()).toEqual(before);
  });

  it('a job signed with another key, or not signed, is refused and runs nothing', async () => {
    await rig.worker('s1', [], { MARKS: marksDir, SLIPWAY_WORKER_NAME: 's1' });
    const queue = new Queue('tasks', { connection: { host: '127.0.0.1', port: 6379 }, prefix: rig.prefix });
    try {
      const payload = {
        runId: 'r-forged',
        taskId: 'f1',
        attempt: 1,
        commit: 'a'.repeat(40),
        file: 'slipway.yml',
        pipelineDigest: 'b'.repeat(64),
        hash: 'c'.repeat(32),
        deps: {},
        cpu: 1,
        memory: 0,
        queuedAt: Date.now(),
      };
      const forged = await queue.add('f1', signJob('not-the-key', payload), { jobId: 'forged-1' });
      const unsigned = await queue.add('f1', { payload }, { jobId: 'forged-2' });
      for (const job of [forged, unsigned]) {
        expect(await until(async () => (await job.getState()) === 'completed', 120_000)).toBe(true);
      }
      const done = [await queue.getJob('forged-1'), await queue.getJob('forged-2')];
      expect(done.map((j) => j?.returnvalue?.failure?.reason)).toEqual(['job-refused', 'job-refused']);
      expect(done[0]?.returnvalue?.failure?.why).toMatch(/bad signature/);
      expect(done[1]?.returnvalue?.failure?.why).toMatch(/unsigned/);
      expect(marks(marksDir).filter((m) => m.startsWith('f1.'))).toEqual([]);
    } finally {
      await queue.close();
    }
  });

  it('an unreachable queue: one warning, and the run goes on here', async () => {
    const coord = rig.clone('coord-no-redis');
    const port = await freePort();
    const r = await runCli(['run', 'a1', '--queue', `redis://127.0.0.1:${port}`, '--summary', 's.json'], {
      cwd: coord,
      env: { ...rig.env, MARKS: marksDir, SLIPWAY_WORKER_NAME: 'local' },
      timeoutMs: 300_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all.match(/unreachable/g)).toHaveLength(1);
    expect(readFileSync(path.join(coord, 'out/a1.txt'), 'utf8')).toBe('a1\n');
    expect(JSON.parse(readFileSync(path.join(coord, 's.json'), 'utf8')).tasks[0].worker).toBeUndefined();
  });

  it('--queue without a remote cache is a usage error naming the setting', async () => {
    const coord = rig.clone('coord-no-remote');
    const r = await runCli(['run', '--queue', rig.queue], {
      cwd: coord,
      env: { ...rig.env, SLIPWAY_REMOTE_CACHE_URL: '' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cache\.remote\.url/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a lock duration too short to renew in time is a usage error', async () => {
    for (const [value, message] of [
      ['100ms', /--lock-duration 100ms is too short/],
      ['soon', /bad --lock-duration soon/],
    ] as const) {
      const r = await runCli(['worker', '--queue', rig.queue, '--lock-duration', value], {
        cwd: rig.root,
        env: rig.env,
      });
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
