import { describe, expect, it } from 'vitest';
import { CHART_HPA } from './hpa.js';
import { replayAutoscaler } from './hpa-replay.js';

const S = 1000;
const price = { perWorkerHour: 0.1, from: 'default' };

describe('replayAutoscaler (the chart HPA over recorded queue samples)', () => {
  it('replays a burst: workers over time, worker-hours, the wait it causes, the monthly cost', () => {
    const r = replayAutoscaler({
      // 10 waiting and 1 running for 30 s, then an empty queue.
      samples: [
        { at: 0, waiting: 10, active: 1 },
        { at: 30 * S, waiting: 0, active: 0 },
      ],
      runs: 1,
      spec: CHART_HPA,
      from: 0,
      to: 3600 * S,
      price,
      workerStartSeconds: 0,
    })!;
    // t=0: ceil(10 / 2) = 5 wanted, doubling allows 2. t=15: the +1 is in its period: 2 stays.
    // From t=30 the queue is empty, but the 300 s scale-down window holds the 5s proposed at t=0
    // and t=15; at t=315 the last of them leaves it: 2 → trunc(2 × 0.5) = 1.
    expect(r.timeline.map((c) => [Date.parse(c.at) / S, c.replicas])).toEqual([
      [0, 2],
      [315, 1],
    ]);
    expect(r.peakReplicas).toBe(2);
    // 1 worker for the hour plus 1 more for 315 s.
    expect(r.workerHours).toBeCloseTo((3600 + 315) / 3600, 9);
    // 11 jobs wanted a worker for 30 s while 2 existed: 9 × 30 job-seconds.
    expect(r.waitJobSeconds).toBe(270);
    expect(r.peakShortfall).toBe(9);
    expect(r.costPerMonth).toBeCloseTo(((3600 + 315) / 3600) * 730 * 0.1, 9);
  });

  it('an idle stretch is skipped exactly: the idle passes still hold back the next scale-up by the 60 s window', () => {
    const burst = Array.from({ length: 21 }, (_, i) => ({ at: (7200 + i * 10) * S, waiting: 4, active: 0 }));
    const r = replayAutoscaler({
      samples: [{ at: 0, waiting: 4, active: 0 }, ...burst],
      runs: 2,
      spec: CHART_HPA,
      from: 0,
      to: 7500 * S,
      price,
    })!;
    // Fresh controller at t=0: 1 → 2 at once. After two hours at the floor, the passes just before
    // t=7200 proposed 0 (empty queue): the scale-up window keeps the count at 1 until t=7245, when
    // the last of them (t=7185) is 60 s old and only proposals of 2 are left in it.
    expect(r.timeline.map((c) => [Date.parse(c.at) / S, c.replicas])).toEqual([
      [0, 2],
      [315, 1],
      [7245, 2],
    ]);
    expect(r.runs).toBe(2);
    expect(r.samples).toBe(22);
  });

  it('a worker takes no job until it has started: the same burst waits longer with a 30 s start', () => {
    const r = replayAutoscaler({
      samples: [
        { at: 0, waiting: 10, active: 1 },
        { at: 30 * S, waiting: 0, active: 0 },
      ],
      runs: 1,
      spec: CHART_HPA,
      from: 0,
      to: 3600 * S,
      price,
      workerStartSeconds: 30,
    })!;
    // The second worker, created at t=0, is ready at t=30, when the burst is over: 10 short for 30 s.
    expect(r.timeline.map((c) => [Date.parse(c.at) / S, c.replicas])).toEqual([
      [0, 2],
      [315, 1],
    ]);
    expect(r.workerStartSeconds).toBe(30);
    expect(r.waitJobSeconds).toBe(300);
    expect(r.peakShortfall).toBe(10);
    // It is paid for from its creation all the same.
    expect(r.workerHours).toBeCloseTo((3600 + 315) / 3600, 9);
  });

  it('a scale-down takes the workers still starting first: the ready count never exceeds the fewest replicas since', () => {
    // No stabilization and no rate limit: the count follows the queue at every pass.
    const quick = {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max' as const,
      policies: [{ type: 'Pods' as const, value: 10, periodSeconds: 15 }],
    };
    const spec = { ...CHART_HPA, scaleUp: quick, scaleDown: quick };
    const samples = [
      { at: 0, waiting: 10, active: 0 },
      { at: 15 * S, waiting: 0, active: 4 },
      { at: 45 * S, waiting: 0, active: 0 },
    ];
    const replay = (workerStartSeconds: number) =>
      replayAutoscaler({ samples, runs: 1, spec, from: 0, to: 600 * S, price, workerStartSeconds })!;
    // t=0: 5 workers; t=15: the queue is empty, back to 1.
    expect(replay(30).timeline.map((c) => [Date.parse(c.at) / S, c.replicas])).toEqual([
      [0, 5],
      [15, 1],
    ]);
    // Started at once: 5 short for 15 s, then 3 short for 30 s.
    expect(replay(0).waitJobSeconds).toBe(5 * 15 + 3 * 30);
    // With a 30 s start the four new workers are removed before they take a job: 1 worker all along.
    expect(replay(30).waitJobSeconds).toBe(9 * 15 + 3 * 30);
  });

  it("scales on the tasks' CPU when the queue is short: the largest of the metrics' proposals wins", () => {
    // Ten minutes of four jobs running (none waiting), each using a whole core: the queue asks for
    // no worker, the chart's CPU target (70% of a 1-core request) for ceil(4 / 0.7) = 6.
    const samples = [
      ...Array.from({ length: 60 }, (_, i) => ({ at: i * 10 * S, waiting: 0, active: 4 })),
      { at: 600 * S, waiting: 0, active: 0 },
    ];
    const tasks = Array.from({ length: 4 }, () => ({ startedAt: 0, endedAt: 600 * S, cpu: 1, memory: 0 }));
    const r = replayAutoscaler({ samples, tasks, runs: 1, spec: CHART_HPA, from: 0, to: 3600 * S, price })!;
    // t=0: 400% of one worker's request, 400 / 70 = 5.7 → 6 wanted, doubling allows 2; t=60: 4
    // (100% → ratio 1.43 → 6 wanted); t=120: 6, where 4 cores are trunc(66.7) = 66% of 6 requests,
    // within the tolerance of 70%. After the tasks end (t=600) the 300 s scale-down window holds
    // the 6s proposed up to t=585: at t=885, 6 → 3; at t=945 (the -3 out of its 60 s period) → 1.
    expect(r.timeline.map((c) => [Date.parse(c.at) / S, c.replicas, c.by])).toEqual([
      [0, 2, 'cpu'],
      [60, 4, 'cpu'],
      [120, 6, 'cpu'],
      [885, 3, 'queue'],
      [945, 1, 'queue'],
    ]);
    expect(r.tasks).toBe(4);
    expect(r.peakCpu).toBe(4);
    // The same record without its tasks: the queue alone never leaves the floor.
    const queueOnly = replayAutoscaler({ samples, runs: 1, spec: CHART_HPA, from: 0, to: 3600 * S, price })!;
    expect(queueOnly.timeline.map((c) => [Date.parse(c.at) / S, c.replicas])).toEqual([[0, 1]]);
  });

  it('scales on memory when the tasks are memory-bound and idle on CPU', () => {
    // Two jobs of 3 GiB each for ten minutes on 2 GiB requests: 300% of one worker, 300 / 80 = 3.75
    // → 4 wanted; CPU (a tenth of a core each) wants 1.
    const samples = Array.from({ length: 61 }, (_, i) => ({ at: i * 10 * S, waiting: 0, active: 2 }));
    const tasks = Array.from({ length: 2 }, () => ({
      startedAt: 0,
      endedAt: 600 * S,
      cpu: 0.1,
      memory: 3 * 1024 ** 3,
    }));
    const r = replayAutoscaler({ samples, tasks, runs: 1, spec: CHART_HPA, from: 0, to: 3600 * S, price })!;
    // t=0: 2; t=60: 4 (6 GiB are 75% of 8 GiB requested: within the tolerance of 80%).
    expect(r.timeline.slice(0, 2).map((c) => [Date.parse(c.at) / S, c.replicas, c.by])).toEqual([
      [0, 2, 'memory'],
      [60, 4, 'memory'],
    ]);
    expect(r.peakReplicas).toBe(4);
    expect(r.peakMemory).toBe(6 * 1024 ** 3);
  });

  it('no samples: no replay', () => {
    expect(
      replayAutoscaler({ samples: [], runs: 0, spec: CHART_HPA, from: 0, to: 1, price }),
    ).toBeUndefined();
  });
});
