/**
 * Stored regression findings: each detection gets a stable id that survives re-detection (a
 * change point may move by a run or two as history grows), so acknowledgements stick. The
 * matching is here; the rows are the store's (store/findings.ts).
 */
import { createHash } from 'node:crypto';
import type { FindingChanges, FindingColumns } from '../store/findings.js';
import type { FindingsTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { Detection, Direction, RegressionScan } from './regressions.js';

/** A stored detection: its stable id, whether it is still seen, and its acknowledgement. */
export interface Finding extends Omit<Detection, 'index' | 'metric'> {
  id: string;
  metric: string;
  /** Still seen by the latest detection. */
  active: boolean;
  detectedAt: number;
  acknowledged: { at: number; by: string | null; note: string | null } | null;
  /** A slowdown that is active, still present in the newest runs and not acknowledged. */
  open: boolean;
}

/** How far (in series positions) a re-detected change point may move and keep its id. */
const MATCH_DISTANCE = 3;

function findingId(pipeline: string, d: Detection): string {
  const h = createHash('sha256').update(`${pipeline}\0${d.subject}\0${d.metric}\0${d.direction}\0${d.runId}`);
  return `r${h.digest('hex').slice(0, 7)}`;
}

function toFinding(r: FindingsTable): Finding {
  const direction: Direction = r.direction === 'faster' ? 'faster' : 'slower';
  const acknowledged =
    r.acknowledged_at === null
      ? null
      : { at: Number(r.acknowledged_at), by: r.acknowledged_by, note: r.ack_note };
  const active = Number(r.active) === 1;
  const persists = Number(r.persists) === 1;
  return {
    id: r.id,
    subject: r.subject,
    metric: r.metric,
    direction,
    runId: r.run_id,
    runStartedAt: Number(r.run_started_at),
    previousRunId: r.previous_run_id,
    meanBefore: r.mean_before,
    meanAfter: r.mean_after,
    stdBefore: r.std_before,
    stdAfter: r.std_after,
    change: r.change,
    magnitude: r.magnitude,
    pValue: r.p_value,
    samplesBefore: r.samples_before,
    samplesAfter: r.samples_after,
    latestMean: r.latest_mean,
    persists,
    active,
    detectedAt: Number(r.detected_at),
    acknowledged,
    open: active && persists && direction === 'slower' && acknowledged === null,
  };
}

function columns(d: Detection, now: number): FindingColumns {
  return {
    subject: d.subject,
    metric: d.metric,
    direction: d.direction,
    run_id: d.runId,
    run_started_at: d.runStartedAt,
    previous_run_id: d.previousRunId,
    mean_before: d.meanBefore,
    mean_after: d.meanAfter,
    std_before: d.stdBefore,
    std_after: d.stdAfter,
    change: d.change,
    magnitude: d.magnitude,
    p_value: d.pValue,
    samples_before: d.samplesBefore,
    samples_after: d.samplesAfter,
    latest_mean: d.latestMean,
    persists: d.persists ? 1 : 0,
    active: 1,
    updated_at: now,
  };
}

/**
 * Records a scan: updates findings it sees again (same subject and direction, within a few runs),
 * inserts new ones, and retires the ones it no longer sees. Returns the pipeline's findings.
 */
export async function syncFindings(
  store: Pick<Store, 'findings'>,
  pipeline: string,
  scan: RegressionScan,
  now: number,
): Promise<Finding[]> {
  await store.findings.sync(pipeline, (existing) => changesFor(pipeline, existing, scan, now), now);
  return listFindings(store, pipeline);
}

/** What a scan changes in the pipeline's stored findings. */
function changesFor(
  pipeline: string,
  existing: readonly FindingsTable[],
  scan: RegressionScan,
  now: number,
): FindingChanges {
  const changes: FindingChanges = { update: [], insert: [], retire: [] };
  const positions = new Map(scan.series.map((s) => [s.subject, new Map(s.runIds.map((id, i) => [id, i]))]));
  const matched = new Set<string>();
  for (const d of scan.detections) {
    const pos = positions.get(d.subject);
    const match = existing.find((e) => {
      if (
        matched.has(e.id) ||
        e.subject !== d.subject ||
        e.direction !== d.direction ||
        e.metric !== d.metric
      )
        return false;
      const at = pos?.get(e.run_id);
      return at !== undefined && Math.abs(at - d.index) <= MATCH_DISTANCE;
    });
    // Not near a known one: its id may still be known (a change point seen before, then lost).
    const id = match?.id ?? findingId(pipeline, d);
    matched.add(id);
    if (match || existing.some((e) => e.id === id)) {
      changes.update.push({ id, columns: columns(d, now) });
    } else {
      changes.insert.push({
        id,
        pipeline,
        ...columns(d, now),
        detected_at: now,
        acknowledged_at: null,
        acknowledged_by: null,
        ack_note: null,
      });
    }
  }
  // A scan of a window (`--since`) cannot retire what lies before it.
  const seen = (e: FindingsTable) => scan.since === undefined || Number(e.run_started_at) >= scan.since;
  changes.retire = existing
    .filter((e) => !matched.has(e.id) && Number(e.active) === 1 && seen(e))
    .map((e) => e.id);
  return changes;
}

/** The pipeline's findings, newest regime first. */
export async function listFindings(store: Pick<Store, 'findings'>, pipeline: string): Promise<Finding[]> {
  return (await store.findings.list(pipeline)).map(toFinding);
}

export type AckResult =
  | { id: string; ok: true; finding: Finding }
  | { id: string; ok: false; reason: 'unknown-id' };

/** Acknowledges findings (or withdraws the acknowledgement with `undo`). */
export async function acknowledge(
  store: Pick<Store, 'findings'>,
  pipeline: string,
  ids: readonly string[],
  opts: { by: string | null; note: string | null; now: number; undo?: boolean },
): Promise<AckResult[]> {
  const out: AckResult[] = [];
  for (const id of ids) {
    const row = await store.findings.acknowledge(
      pipeline,
      id,
      opts.undo
        ? { acknowledged_at: null, acknowledged_by: null, ack_note: null }
        : { acknowledged_at: opts.now, acknowledged_by: opts.by, ack_note: opts.note },
    );
    out.push(row ? { id, ok: true, finding: toFinding(row) } : { id, ok: false, reason: 'unknown-id' });
  }
  return out;
}
