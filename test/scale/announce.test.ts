/**
 * A run is announced before its first task is ready (src/scale/announce.ts): a worker checks out
 * the run's commit and opens its pipeline before the run's first job reaches it, so the job does
 * not wait for `git worktree add`. An announcement not signed with the worker's key is ignored:
 * write access to Redis does not make workers fetch and check out what it likes. Real Redis,
 * remote cache and one worker process; assertions on the order of the worker's log lines only.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Rig, redisAvailable, runCoordinator, startRig, type WorkerProc } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping announce test: no Redis on 127.0.0.1:6379');

const pipeline = (word: string) => ({
  name: 'announce',
  tasks: { hello: { run: `echo ${word} > out.txt`, inputs: ['slipway.yml'], outputs: ['out.txt'] } },
});

describe.skipIf(!hasRedis)('run announcement', () => {
  let rig: Rig;
  let worker: WorkerProc;
  beforeAll(async () => {
    rig = await startRig({ 'slipway.yml': stringify(pipeline('one')) });
    worker = await rig.worker('w1');
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('a worker checks out a new commit when its run is announced, before the run first job starts', async () => {
    // Two commits the worker's clone does not have yet: the first is announced with a forged
    // signature, the second by a real run.
    const forged = rig.commit({ 'slipway.yml': stringify(pipeline('two')) }, 'forged');
    const head = rig.commit({ 'slipway.yml': stringify(pipeline('three')) }, 'real');
    await rig.redis.publish(
      `${rig.prefix}:runs`,
      JSON.stringify({ announce: { commit: forged, file: 'slipway.yml' }, sig: 'ab'.repeat(32) }),
    );
    const { dir: coord, summary } = await runCoordinator(rig);
    expect(summary.tasks.map((t) => [t.id, t.status, t.worker])).toEqual([['hello', 'success', 'w1']]);
    expect(readFileSync(path.join(coord, 'out.txt'), 'utf8')).toBe('three\n');

    const lines = worker.proc.stdout().split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle));
    const prepared = at(`commit ${head} prepared for an announced run`);
    const started = at('hello (run ');
    expect(prepared, worker.proc.stdout()).toBeGreaterThanOrEqual(0);
    expect(started, worker.proc.stdout()).toBeGreaterThan(prepared);
    // The forged announcement came first (one connection delivers in order) and was refused.
    const ignored = at('ignored a run announcement: bad signature');
    expect(ignored, worker.proc.stdout()).toBeGreaterThanOrEqual(0);
    expect(ignored).toBeLessThan(prepared);
    expect(worker.proc.stdout()).not.toContain(forged);
    expect(existsSync(path.join(worker.dir, '.slipway', 'worktrees', forged))).toBe(false);
    expect(existsSync(path.join(worker.dir, '.slipway', 'worktrees', head))).toBe(true);
  });
});
