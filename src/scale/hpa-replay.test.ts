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

  it('no samples: no replay', () => {
    expect(
      replayAutoscaler({ samples: [], runs: 0, spec: CHART_HPA, from: 0, to: 1, price }),
    ).toBeUndefined();
  });
});
