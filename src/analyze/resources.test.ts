/** Resource metrics from history: I/O medians, memory in use over a run, deployment transfers. */
import { describe, expect, it } from 'vitest';
import { run, task } from '../../test/analyze/fixtures.js';
import type { DeploymentTransferRow } from '../store/deploy-transfers.js';
import { poolMemory, runMemory, summarizeTransfers, taskIo } from './resources.js';

const MiB = 1024 * 1024;
const io = (writeBytes: number, writeOps = 1) => ({
  readBytes: 0,
  writeBytes,
  readOps: 0,
  writeOps,
  readChars: 0,
  writeChars: writeBytes,
});

describe('taskIo', () => {
  it('takes medians over executions and leaves cache hits and unmeasured rows out', () => {
    const runs = [
      run('r1', 0, [task('a', 0, 10, { io: io(1 * MiB) }), task('b', 0, 10, { io: io(5 * MiB) })]),
      run('r2', 100, [task('a', 100, 10, { io: io(3 * MiB) }), task('b', 100, 0, { cache: 'hit-local' })]),
      run('r3', 200, [task('a', 200, 10, { io: io(2 * MiB) }), task('b', 200, 10)]),
    ];
    const rows = taskIo(runs);
    expect(rows.map((r) => [r.id, r.executions, r.writeBytes])).toEqual([
      ['b', 1, 5 * MiB],
      ['a', 3, 2 * MiB],
    ]);
  });
});

describe('runMemory and poolMemory', () => {
  it('sums the RSS of tasks running at once, not of tasks that hand over', () => {
    // a [0,10) 100 MiB and b [5,15) 50 MiB overlap; c starts exactly as a ends.
    const r = run(
      'r',
      0,
      [
        task('a', 0, 10, { peakRssBytes: 100 * MiB }),
        task('b', 5, 10, { peakRssBytes: 50 * MiB }),
        task('c', 10, 10, { peakRssBytes: 100 * MiB }),
      ],
      { capacityMemory: 1000 * MiB },
    );
    const m = runMemory(r)!;
    expect(m.peakBytes).toBe(150 * MiB);
    // (0-5: 100) + (5-10: 150) + (10-15: 150) + (15-20: 100) over 20 ms.
    expect(m.meanBytes).toBeCloseTo(((100 + 150 + 150 + 100) * 5 * MiB) / 20);
    const pool = poolMemory([r, run('old', 0, [task('x', 0, 1, { peakRssBytes: MiB })])])!;
    expect(pool.runs).toBe(1); // the run without a pool size does not count
    expect(pool.latest?.peak).toBeCloseTo(0.15);
  });

  it('says nothing without measurements', () => {
    expect(poolMemory([run('r', 0, [task('a', 0, 10)], { capacityMemory: MiB })])).toBeNull();
  });
});

describe('summarizeTransfers', () => {
  const row = (over: Partial<DeploymentTransferRow>): DeploymentTransferRow => ({
    id: 'd',
    environment: 'prod',
    kind: 'deploy',
    status: 'success',
    started_at: 0,
    duration_ms: 5000,
    artifact_bytes: 10 * MiB,
    bytes_sent: 2 * MiB,
    origin_egress_bytes: 1 * MiB,
    targets: 4,
    staging_ms: 2000,
    ...over,
  });

  it('gives the wire rate and the effective rate of delta transfer, leaving rollbacks out', () => {
    const d = summarizeTransfers([row({}), row({ id: 'rb', kind: 'rollback', bytes_sent: 0 })]);
    expect(d.count).toBe(1);
    expect(d.recent[0]!.transferRate).toBe(MiB);
    expect(d.recent[0]!.effectiveRate).toBe(20 * MiB);
    expect(d.networkBytesP50).toBe(2 * MiB);
  });

  it('has no rate for a deployment whose staging was not recorded', () => {
    expect(summarizeTransfers([row({ staging_ms: null })]).recent[0]!.transferRate).toBeNull();
  });
});
