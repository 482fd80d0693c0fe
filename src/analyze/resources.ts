/**
 * The brief's missing resource metrics, from history: disk I/O per task (its whole process tree),
 * memory utilization of the pool, and what each deployment moved over the network and how fast.
 * Pure functions over loaded records.
 */

import type { DeploymentTransferRow } from '../store/deploy-transfers.js';
import type { IoCounters } from '../util/io-counters.js';
import { isCacheHit, type RunRecord, type TaskRecord } from './history.js';
import { mean, median } from './stats.js';

export interface TaskIo {
  id: string;
  /** Executions with an I/O measurement. */
  executions: number;
  /** Medians per execution. */
  readBytes: number;
  writeBytes: number;
  readOps: number;
  writeOps: number;
  readChars: number;
  writeChars: number;
}

export interface PoolMemory {
  /** Runs with a known pool size and measured tasks. */
  runs: number;
  /** Highest share of the pool in use at once over those runs. */
  peak: number;
  /** Mean over runs of the time-weighted share in use while the run lasted. */
  mean: number;
  latest: { runId: string; peakBytes: number; capacityBytes: number; peak: number; mean: number } | null;
  /** How it is estimated, for readers who need to know what the number can support. */
  basis: string;
}

export interface DeploymentTransfer {
  id: string;
  environment: string;
  kind: string;
  status: string;
  startedAt: string;
  artifactBytes: number;
  /** Bytes sent to agents (chunks that were missing, after compression). */
  networkBytes: number;
  /** Bytes the deployer's origin served (less than networkBytes when agents relay). */
  originEgressBytes: number;
  targets: number;
  stagingMs: number | null;
  /** networkBytes / staging time: the wire rate. */
  transferRate: number | null;
  /** artifactBytes × targets / staging time: what delta transfer made the artifact move at. */
  effectiveRate: number | null;
}

export interface ResourceReport {
  io: { measuredExecutions: number; tasks: TaskIo[] };
  poolMemory: PoolMemory | null;
  deployments: {
    count: number;
    networkBytesP50: number | null;
    transferRateP50: number | null;
    /** The newest 20, oldest first. */
    recent: DeploymentTransfer[];
  };
}

const executed = (t: TaskRecord) => t.attempts > 0 && !isCacheHit(t.cache);

/** Median I/O per execution of each task, largest writers first. */
export function taskIo(runs: readonly RunRecord[]): TaskIo[] {
  const by = new Map<string, IoCounters[]>();
  for (const r of runs)
    for (const t of r.tasks) {
      if (!t.io || !executed(t)) continue;
      const list = by.get(t.taskId) ?? [];
      list.push(t.io);
      by.set(t.taskId, list);
    }
  return [...by]
    .map(([id, xs]) => ({
      id,
      executions: xs.length,
      readBytes: median(xs.map((x) => x.readBytes)),
      writeBytes: median(xs.map((x) => x.writeBytes)),
      readOps: median(xs.map((x) => x.readOps)),
      writeOps: median(xs.map((x) => x.writeOps)),
      readChars: median(xs.map((x) => x.readChars)),
      writeChars: median(xs.map((x) => x.writeChars)),
    }))
    .sort((a, b) => b.writeBytes + b.readBytes - (a.writeBytes + a.readBytes) || a.id.localeCompare(b.id));
}

/**
 * Memory in use over a run, as the sum of the peak RSS of the tasks running at each moment: each
 * task counts at its peak for its whole run, so this is an upper bound of the true use.
 */
export function runMemory(run: RunRecord): { peakBytes: number; meanBytes: number } | undefined {
  const spans = run.tasks.filter(
    (t) => executed(t) && t.startedAt !== null && t.endedAt !== null && (t.peakRssBytes ?? 0) > 0,
  );
  if (!spans.length) return undefined;
  const edges: [number, number][] = [];
  for (const t of spans) {
    edges.push([t.startedAt!, t.peakRssBytes!], [t.endedAt!, -t.peakRssBytes!]);
  }
  // Ends before starts at the same instant: a task that hands over to the next does not overlap it.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inUse = 0;
  let peak = 0;
  let area = 0;
  let prev = edges[0]![0];
  for (const [at, delta] of edges) {
    area += inUse * (at - prev);
    prev = at;
    inUse += delta;
    peak = Math.max(peak, inUse);
  }
  const wall = run.durationMs ?? edges[edges.length - 1]![0] - edges[0]![0];
  return { peakBytes: peak, meanBytes: wall > 0 ? area / wall : peak };
}

/** Share of the pool's memory the runs used, from runs that know their pool size. */
export function poolMemory(runs: readonly RunRecord[]): PoolMemory | null {
  const rows = runs.flatMap((r) => {
    const m = r.capacityMemory ? runMemory(r) : undefined;
    return m && r.capacityMemory ? [{ run: r, ...m, capacity: r.capacityMemory }] : [];
  });
  if (!rows.length) return null;
  const last = rows[rows.length - 1]!;
  return {
    runs: rows.length,
    peak: Math.max(...rows.map((x) => x.peakBytes / x.capacity)),
    mean: mean(rows.map((x) => x.meanBytes / x.capacity)),
    latest: {
      runId: last.run.id,
      peakBytes: last.peakBytes,
      capacityBytes: last.capacity,
      peak: last.peakBytes / last.capacity,
      mean: last.meanBytes / last.capacity,
    },
    basis: 'sum of the peak RSS of the tasks running at once (an upper bound), over the pool memory',
  };
}

/** Network bytes and transfer rates of deployments (rollbacks move no artifact and are left out). */
export function summarizeTransfers(rows: readonly DeploymentTransferRow[]): ResourceReport['deployments'] {
  const list: DeploymentTransfer[] = rows
    .filter((r) => r.kind !== 'rollback')
    .map((r) => {
      const s = r.staging_ms && r.staging_ms > 0 ? r.staging_ms / 1000 : null;
      return {
        id: r.id,
        environment: r.environment,
        kind: r.kind,
        status: r.status,
        startedAt: new Date(r.started_at).toISOString(),
        artifactBytes: r.artifact_bytes,
        networkBytes: r.bytes_sent,
        originEgressBytes: r.origin_egress_bytes,
        targets: r.targets,
        stagingMs: r.staging_ms,
        transferRate: s ? r.bytes_sent / s : null,
        effectiveRate: s ? (r.artifact_bytes * r.targets) / s : null,
      };
    });
  const rates = list.map((d) => d.transferRate).filter((x): x is number => x !== null);
  return {
    count: list.length,
    networkBytesP50: list.length ? median(list.map((d) => d.networkBytes)) : null,
    transferRateP50: rates.length ? median(rates) : null,
    recent: list.slice(-20),
  };
}

/** Every resource metric of the report. */
export function resourceReport(
  runs: readonly RunRecord[],
  transfers: readonly DeploymentTransferRow[],
): ResourceReport {
  const tasks = taskIo(runs);
  return {
    io: { measuredExecutions: tasks.reduce((s, t) => s + t.executions, 0), tasks },
    poolMemory: poolMemory(runs),
    deployments: summarizeTransfers(transfers),
  };
}
