/**
 * The queue's length during a `--queue` run goes into history, and `slipway report` replays it
 * through the chart's HPA: the real Redis, remote cache and one worker of one slot, so jobs wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { twentyTasks } from './graph.js';
import { type Rig, redisAvailable, startRig } from './rig.js';

const hasRedis = await redisAvailable();
if (!hasRedis) console.warn('skipping queue history tests: no Redis on 127.0.0.1:6379');

interface Autoscaling {
  runs: number;
  samples: number;
  peakWaiting: number;
  peakReplicas: number;
  timeline: { at: string; replicas: number; waiting: number }[];
  workerHours: number;
  window: { hours: number };
  waitJobSeconds: number;
  workerStartSeconds: number;
  price: { perWorkerHour: number; from: string };
  costPerMonth: number;
}

describe.skipIf(!hasRedis)('queue length in history, replayed through the HPA', () => {
  let rig: Rig;
  let coord: string;
  beforeAll(async () => {
    // Each task sleeps long enough for the coordinator's once-a-second samples to see jobs wait.
    rig = await startRig(twentyTasks({ sleep: () => 0.4 }));
    await rig.worker('w1');
    coord = rig.clone('coordinator');
    const r = await runCli(['run', '--queue', rig.queue], { cwd: coord, env: rig.env, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('report --json replays the recorded queue: workers over time, the wait, the cost at the default price', async () => {
    const r = await runCli(['report', '--json'], { cwd: coord, env: rig.env });
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout).autoscaling as Autoscaling;
    expect(a.runs).toBe(1);
    expect(a.samples).toBeGreaterThan(1);
    // Five ready tasks and one worker: jobs waited (prioritized jobs count as waiting).
    expect(a.peakWaiting).toBeGreaterThanOrEqual(2);
    // The replay starts at the chart's floor and stays within its bounds (its arithmetic is
    // unit-tested in hpa.test.ts; which 15 s passes meet a short run's queue is the clock's).
    expect(a.timeline[0]!.replicas).toBe(1);
    expect(a.timeline.every((c) => c.replicas >= 1 && c.replicas <= 50)).toBe(true);
    expect(a.workerHours).toBeGreaterThan(0);
    expect(a.waitJobSeconds).toBeGreaterThanOrEqual(0);
    expect(a.price).toEqual({ perWorkerHour: 0.1, from: 'default' });
    expect(a.costPerMonth).toBeGreaterThan(0);

    const priced = await runCli(['report', '--json', '--cost-per-worker-hour', '0.4'], {
      cwd: coord,
      env: rig.env,
    });
    const b = JSON.parse(priced.stdout).autoscaling as Autoscaling;
    expect(b.price).toEqual({ perWorkerHour: 0.4, from: '--cost-per-worker-hour' });
    // Four times the price per worker-hour kept (the window grew by the moments between the reports).
    const perWorkerHour = (x: Autoscaling) => (x.costPerMonth * x.window.hours) / x.workerHours;
    expect(perWorkerHour(b)).toBeCloseTo(4 * perWorkerHour(a), 6);
    expect(a.workerStartSeconds).toBe(30);

    // Workers that start at once never leave more work waiting than workers that take 10 minutes.
    const wait = async (start: string) => {
      const x = await runCli(['report', '--json', '--worker-start', start], { cwd: coord, env: rig.env });
      expect(x.code, x.stderr).toBe(0);
      return JSON.parse(x.stdout).autoscaling as Autoscaling;
    };
    const [instant, slow] = [await wait('0'), await wait('10m')];
    expect(instant.workerStartSeconds).toBe(0);
    expect(slow.workerStartSeconds).toBe(600);
    // The same workers are created: only when they take jobs differs.
    expect(slow.peakReplicas).toBe(instant.peakReplicas);
    expect(slow.waitJobSeconds).toBeGreaterThanOrEqual(instant.waitJobSeconds);
  });

  it('the text report shows the replay; a bad price or start-up time is a usage error', async () => {
    const r = await runCli(['report'], { cwd: coord, env: rig.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Autoscaling replay \(1 --queue run, \d+ queue samples/);
    expect(r.stdout).toMatch(
      /cost: \d+\.\d\d per month at 0\.1 per worker-hour \(default; set --cost-per-worker-hour\)/,
    );
    const bad = await runCli(['report', '--cost-per-worker-hour', 'cheap'], { cwd: coord, env: rig.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad --cost-per-worker-hour "cheap"');
    const badStart = await runCli(['report', '--worker-start', 'soon'], { cwd: coord, env: rig.env });
    expect(badStart.code).toBe(2);
    expect(badStart.stderr).toContain('bad --worker-start "soon"');
  });
});
