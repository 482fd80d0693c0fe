/**
 * A worker takes the highest-priority job that FITS its free slots and cpu: when the top job does
 * not fit beside what runs, it skips to a smaller one instead of waiting (or holding the big one).
 * Real Redis, remote cache and one worker of 2 slots and 2 cpus. The tasks wait on each other's
 * marker files, so the test asserts order only.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type Rig, redisAvailable, runCoordinator, startRig } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping fit-skip test: no Redis on 127.0.0.1:6379');

// With no history every task is predicted alike: priorities follow the ids, a-long first.
const pipeline = {
  name: 'fit',
  resources: { cpu: 4 },
  tasks: {
    // 1 cpu; ends only once c-small has started beside it (gives up after 60 s: exit 3).
    'a-long': {
      run: 'touch "$MARKS/a.started"; i=0; until [ -e "$MARKS/c.started" ]; do i=$((i+1)); [ $i -gt 600 ] && exit 3; sleep 0.1; done; touch "$MARKS/a.done"',
      inputs: ['slipway.yml'],
      resources: { cpu: 1 },
    },
    // 2 cpus: cannot run beside a-long; by the time it starts, both others have ended.
    'b-big': {
      run: 'touch "$MARKS/b.started"; test -e "$MARKS/a.done" && test -e "$MARKS/c.done"',
      inputs: ['slipway.yml'],
      resources: { cpu: 2 },
    },
    // 1 cpu: fits beside a-long, although b-big comes before it.
    'c-small': {
      run: 'touch "$MARKS/c.started"; sleep 0.3; touch "$MARKS/c.done"',
      inputs: ['slipway.yml'],
      resources: { cpu: 1 },
    },
  },
};

describe.skipIf(!hasRedis)('a worker skips a job that does not fit to one that does', () => {
  let rig: Rig;
  let marks: string;
  beforeAll(async () => {
    rig = await startRig({ 'slipway.yml': stringify(pipeline) });
    marks = path.join(rig.root, 'marks');
    mkdirSync(marks);
    await rig.worker('w1', ['--slots', '2', '--cpu', '2'], { MARKS: marks });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('runs the 1-cpu job beside the running one while the 2-cpu job waits in the queue', async () => {
    const { summary } = await runCoordinator(rig);
    expect(summary.tasks.map((t) => [t.id, t.status, t.worker])).toEqual([
      ['a-long', 'success', 'w1'],
      ['b-big', 'success', 'w1'],
      ['c-small', 'success', 'w1'],
    ]);
    // a-long ended only because c-small started beside it; b-big ran after both.
    for (const m of ['a.started', 'a.done', 'b.started', 'c.started', 'c.done'])
      expect(existsSync(path.join(marks, m)), m).toBe(true);
  });
});
