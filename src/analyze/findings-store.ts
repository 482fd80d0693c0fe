/**
 * Stored regression findings: each detection gets a stable id that survives re-detection (a
 * change point may move by a run or two as history grows), so acknowledgements stick.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Detection, Direction, RegressionScan } from './regressions.js';

export interface FindingsTable {
  id: string;
  pipeline: string;
  subject: string;
  metric: string;
  direction: string;
  run_id: string;
  run_started_at: number;
  previous_run_id: string | null;
  mean_before: number;
  mean_after: number;
  std_before: number;
  std_after: number;
  change: number;
  magnitude: number;
  p_value: number;
  samples_before: number;
  samples_after: number;
  latest_mean: number;
  persists: number;
  active: number;
  detected_at: number;
  updated_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  ack_note: string | null;
}

declare module '../store/schema.js' {
  interface Database {
    findings: FindingsTable;
  }
}

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

function columns(d: Detection, now: number) {
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
  db: Kysely<Database>,
  pipeline: string,
  scan: RegressionScan,
  now: number,
): Promise<Finding[]> {
  await db.transaction().execute(async (tx) => {
    const existing = await tx.selectFrom('findings').selectAll().where('pipeline', '=', pipeline).execute();
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
      if (match) {
        matched.add(match.id);
        await tx.updateTable('findings').set(columns(d, now)).where('id', '=', match.id).execute();
      } else {
        const id = findingId(pipeline, d);
        if (existing.some((e) => e.id === id)) {
          matched.add(id);
          await tx.updateTable('findings').set(columns(d, now)).where('id', '=', id).execute();
          continue;
        }
        matched.add(id);
        await tx
          .insertInto('findings')
          .values({
            id,
            pipeline,
            ...columns(d, now),
            detected_at: now,
            acknowledged_at: null,
            acknowledged_by: null,
            ack_note: null,
          })
          .execute();
      }
    }
    // A scan of a window (`--since`) cannot retire what lies before it.
    const seen = (e: FindingsTable) => scan.since === undefined || Number(e.run_started_at) >= scan.since;
    const retired = existing
      .filter((e) => !matched.has(e.id) && Number(e.active) === 1 && seen(e))
      .map((e) => e.id);
    if (retired.length) {
      await tx
        .updateTable('findings')
        .set({ active: 0, persists: 0, updated_at: now })
        .where('id', 'in', retired)
        .execute();
    }
  });
  return listFindings(db, pipeline);
}

/** The pipeline's findings, newest regime first. */
export async function listFindings(db: Kysely<Database>, pipeline: string): Promise<Finding[]> {
  const rows = await db
    .selectFrom('findings')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .orderBy('run_started_at', 'desc')
    .orderBy('subject')
    .execute();
  return rows.map(toFinding);
}

export type AckResult =
  | { id: string; ok: true; finding: Finding }
  | { id: string; ok: false; reason: 'unknown-id' };

/** Acknowledges findings (or withdraws the acknowledgement with `undo`). */
export async function acknowledge(
  db: Kysely<Database>,
  pipeline: string,
  ids: readonly string[],
  opts: { by: string | null; note: string | null; now: number; undo?: boolean },
): Promise<AckResult[]> {
  const out: AckResult[] = [];
  for (const id of ids) {
    const res = await db
      .updateTable('findings')
      .set(
        opts.undo
          ? { acknowledged_at: null, acknowledged_by: null, ack_note: null }
          : { acknowledged_at: opts.now, acknowledged_by: opts.by, ack_note: opts.note },
      )
      .where('pipeline', '=', pipeline)
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      out.push({ id, ok: false, reason: 'unknown-id' });
      continue;
    }
    const row = await db.selectFrom('findings').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    out.push({ id, ok: true, finding: toFinding(row) });
  }
  return out;
}
