/**
 * The dashboard's reads (slipway serve, /metrics, report --html): pages of runs, one run with its
 * tasks, one task's executions, windows of runs and cache outcomes, and deployments
 * (dashboard-deployments.ts). Bounded queries over the existing indexes, the same on SQLite and
 * PostgreSQL.
 */
import { type Kysely, sql } from 'kysely';
import type { RunStatus } from '../events.js';
import {
  type DeploymentHealth,
  deploymentHealth,
  deploymentPage,
  deploymentsEndedSince,
  deploymentsInWindow,
  deploymentWithTargets,
} from './dashboard-deployments.js';
import type { RunRow, TaskRunRow } from './runs.js';
import type { Database, DeploymentsTable, DeploymentTargetsTable } from './schema.js';

/** A pipeline in the store and how recently it ran. */
export interface PipelineRow {
  pipeline: string;
  runs: number;
  last_started_at: number;
}

/** Every pipeline that has runs, most recently run first. */
async function pipelinesOf(db: Kysely<Database>): Promise<PipelineRow[]> {
  const rows = await db
    .selectFrom('runs')
    .select((eb) => [
      'pipeline',
      eb.fn.countAll<number>().as('runs'),
      eb.fn.max<number>('started_at').as('last_started_at'),
    ])
    .groupBy('pipeline')
    .execute();
  return rows
    .map((r) => ({ pipeline: r.pipeline, runs: Number(r.runs), last_started_at: Number(r.last_started_at) }))
    .sort((a, b) => b.last_started_at - a.last_started_at);
}

export interface RunPageQuery {
  pipeline?: string;
  status?: RunStatus;
  /** Only runs started strictly before this (the previous page's last `started_at`). */
  before?: number;
  limit: number;
}

/** One page of runs, newest first. */
async function runPage(db: Kysely<Database>, q: RunPageQuery): Promise<RunRow[]> {
  let s = db.selectFrom('runs').selectAll();
  if (q.pipeline !== undefined) s = s.where('pipeline', '=', q.pipeline);
  if (q.status !== undefined) s = s.where('status', '=', q.status);
  if (q.before !== undefined) s = s.where('started_at', '<', q.before);
  return s.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
}

/** One run, or undefined. */
async function runById(db: Kysely<Database>, id: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Runs still marked running (live ones, and dead ones not yet marked interrupted). */
async function runningRuns(db: Kysely<Database>): Promise<RunRow[]> {
  return db.selectFrom('runs').selectAll().where('status', '=', 'running').orderBy('started_at').execute();
}

/** What the window statistics need of a run. */
export type WindowRun = Pick<RunRow, 'id' | 'status' | 'started_at' | 'ended_at' | 'duration_ms'>;

/** Runs of a pipeline started in [from, to), oldest first, without their tasks. */
async function runsInWindow(
  db: Kysely<Database>,
  o: { pipeline: string; from: number; to: number },
): Promise<WindowRun[]> {
  return db
    .selectFrom('runs')
    .select(['id', 'status', 'started_at', 'ended_at', 'duration_ms'])
    .where('pipeline', '=', o.pipeline)
    .where('started_at', '>=', o.from)
    .where('started_at', '<', o.to)
    .orderBy('started_at')
    .execute();
}

/** Cache outcomes of the task runs of a pipeline's runs started in [from, to). */
export interface CacheTotals {
  hits: number;
  misses: number;
  savedMs: number;
  cpuSeconds: number;
}

/** Cache hits, misses, time saved and CPU seconds summed in the database (one aggregate). */
async function cacheTotals(
  db: Kysely<Database>,
  o: { pipeline: string; from: number; to: number },
): Promise<CacheTotals> {
  const row = await db
    .selectFrom('task_runs')
    .innerJoin('runs', 'runs.id', 'task_runs.run_id')
    .select([
      sql<number>`sum(case when task_runs.cache in ('hit-local', 'hit-remote') then 1 else 0 end)`.as('hits'),
      sql<number>`sum(case when task_runs.cache = 'miss' then 1 else 0 end)`.as('misses'),
      sql<number>`sum(case when task_runs.cache in ('hit-local', 'hit-remote') and task_runs.saved_ms > 0 then task_runs.saved_ms else 0 end)`.as(
        'saved',
      ),
      sql<number>`sum(coalesce(task_runs.cpu_seconds, 0))`.as('cpu'),
    ])
    .where('runs.pipeline', '=', o.pipeline)
    .where('runs.started_at', '>=', o.from)
    .where('runs.started_at', '<', o.to)
    .executeTakeFirst();
  return {
    hits: Number(row?.hits ?? 0),
    misses: Number(row?.misses ?? 0),
    savedMs: Number(row?.saved ?? 0),
    cpuSeconds: Number(row?.cpu ?? 0),
  };
}

/** One successful execution of a task that ran (not a cache hit), for its trend. */
export type TaskExecution = Pick<
  TaskRunRow,
  | 'run_id'
  | 'started_at'
  | 'duration_ms'
  | 'predicted_ms'
  | 'cpu_seconds'
  | 'peak_rss_bytes'
  | 'cpu_request'
  | 'memory_request'
> & { started_at: number; duration_ms: number };

/**
 * The newest `limit` successful executions of a task in a pipeline that really ran, newest
 * first: exactly the rows of the partial index `task_runs_recent` (migration 040), so the cost
 * is `limit` index entries however long the history is. (There is deliberately no full index on
 * task_id: migration 050.)
 */
async function taskExecutions(
  store: { db: Kysely<Database>; kind: 'sqlite' | 'postgres' },
  o: { pipeline: string; taskId: string; limit: number },
): Promise<TaskExecution[]> {
  // SQLite's planner, without statistics, would walk every run of the pipeline instead.
  const from = store.kind === 'sqlite' ? sql`task_runs indexed by task_runs_recent` : sql`task_runs`;
  const { rows } = await sql<TaskExecution>`
    select task_runs.run_id, task_runs.started_at, task_runs.duration_ms, task_runs.predicted_ms,
      task_runs.cpu_seconds, task_runs.peak_rss_bytes, task_runs.cpu_request, task_runs.memory_request
    from ${from} join runs on runs.id = task_runs.run_id
    where task_runs.task_id = ${o.taskId} and task_runs.status = 'success'
      and task_runs.cache in ('miss', 'disabled') and runs.pipeline = ${o.pipeline}
    order by task_runs.started_at desc limit ${o.limit}`.execute(store.db);
  return rows.map((r) => ({ ...r, started_at: Number(r.started_at), duration_ms: Number(r.duration_ms) }));
}

/** How a task ended in the pipeline's newest `runs` runs (status and cache outcome), newest first. */
async function taskOutcomes(
  db: Kysely<Database>,
  o: { pipeline: string; taskId: string; runs: number },
): Promise<Pick<TaskRunRow, 'status' | 'cache'>[]> {
  // From the runs' (pipeline, started_at) index to each run's row of the task by primary key:
  // `runs` lookups, however long the history.
  return db
    .selectFrom('runs')
    .innerJoin('task_runs', (j) =>
      j.onRef('task_runs.run_id', '=', 'runs.id').on('task_runs.task_id', '=', o.taskId),
    )
    .select(['task_runs.status', 'task_runs.cache'])
    .where('runs.pipeline', '=', o.pipeline)
    .orderBy('runs.started_at', 'desc')
    .limit(o.runs)
    .execute();
}

/** Runs that ended at or after `since` (for /metrics, which observes each finished run once). */
async function runsEndedSince(db: Kysely<Database>, since: number): Promise<RunRow[]> {
  return db
    .selectFrom('runs')
    .selectAll()
    .where('ended_at', '>=', since)
    .where('status', '!=', 'running')
    .orderBy('ended_at')
    .execute();
}

/** What /metrics observes of a task run. */
export type TaskObservation = Pick<
  TaskRunRow,
  'run_id' | 'task_id' | 'status' | 'cache' | 'duration_ms' | 'saved_ms'
>;

/** The task runs of some runs, only the columns /metrics needs (500 runs per query). */
async function taskObservations(db: Kysely<Database>, runIds: readonly string[]): Promise<TaskObservation[]> {
  const out: TaskObservation[] = [];
  for (let i = 0; i < runIds.length; i += 500) {
    out.push(
      ...(await db
        .selectFrom('task_runs')
        .select(['run_id', 'task_id', 'status', 'cache', 'duration_ms', 'saved_ms'])
        .where('run_id', 'in', runIds.slice(i, i + 500))
        .execute()),
    );
  }
  return out;
}

/**
 * What changes when a pipeline's history changes: its run count, newest start and newest end,
 * the same of deployments, and the findings' acknowledgements (not their `updated_at`, which the
 * overview's own re-detection touches). The overview is recomputed only when this differs.
 */
async function historyFingerprint(db: Kysely<Database>, pipeline: string): Promise<string> {
  const r = await db
    .selectFrom('runs')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.max<number>('started_at').as('s'),
      eb.fn.max<number>('ended_at').as('e'),
    ])
    .where('pipeline', '=', pipeline)
    .executeTakeFirst();
  const d = await db
    .selectFrom('deployments')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.max<number>('started_at').as('s'),
      eb.fn.max<number>('ended_at').as('e'),
    ])
    .executeTakeFirst();
  const f = await db
    .selectFrom('findings')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>('acknowledged_at').as('a'),
      eb.fn.max<number>('acknowledged_at').as('m'),
    ])
    .where('pipeline', '=', pipeline)
    .executeTakeFirst();
  return JSON.stringify([r, d, f]);
}

/** A run with its tasks' CPU seconds summed (null when none was measured): growth and windows. */
export type RunCpuTotal = Pick<
  RunRow,
  'id' | 'status' | 'started_at' | 'ended_at' | 'duration_ms' | 'concurrency' | 'capacity_cpu'
> & { cpu_seconds: number | null };

/** A pipeline's runs started at or after `from`, oldest first, each with its CPU seconds summed. */
async function runCpuTotals(
  db: Kysely<Database>,
  o: { pipeline: string; from: number },
): Promise<RunCpuTotal[]> {
  const rows = await db
    .selectFrom('runs')
    .leftJoin('task_runs', 'task_runs.run_id', 'runs.id')
    .select([
      'runs.id',
      'runs.status',
      'runs.started_at',
      'runs.ended_at',
      'runs.duration_ms',
      'runs.concurrency',
      'runs.capacity_cpu',
      sql<number | null>`sum(task_runs.cpu_seconds)`.as('cpu_seconds'),
    ])
    .where('runs.pipeline', '=', o.pipeline)
    .where('runs.started_at', '>=', o.from)
    .groupBy([
      'runs.id',
      'runs.status',
      'runs.started_at',
      'runs.ended_at',
      'runs.duration_ms',
      'runs.concurrency',
      'runs.capacity_cpu',
    ])
    .orderBy('runs.started_at')
    .execute();
  return rows.map((r) => ({
    ...r,
    started_at: Number(r.started_at),
    ended_at: r.ended_at === null ? null : Number(r.ended_at),
    duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
    cpu_seconds: r.cpu_seconds === null ? null : Number(r.cpu_seconds),
  }));
}

/** The dashboard's reads, bound to one store's connection (store.dashboard). */
export interface DashboardQueries {
  pipelinesOf(): Promise<PipelineRow[]>;
  runPage(q: RunPageQuery): Promise<RunRow[]>;
  runById(id: string): Promise<RunRow | undefined>;
  runningRuns(): Promise<RunRow[]>;
  runsInWindow(o: { pipeline: string; from: number; to: number }): Promise<WindowRun[]>;
  cacheTotals(o: { pipeline: string; from: number; to: number }): Promise<CacheTotals>;
  taskOutcomes(o: {
    pipeline: string;
    taskId: string;
    runs: number;
  }): Promise<Pick<TaskRunRow, 'status' | 'cache'>[]>;
  deploymentPage(o: { before?: number; limit: number; status?: string }): Promise<DeploymentsTable[]>;
  deploymentWithTargets(
    id: string,
  ): Promise<{ deployment: DeploymentsTable; targets: DeploymentTargetsTable[] } | undefined>;
  runsEndedSince(since: number): Promise<RunRow[]>;
  taskObservations(runIds: readonly string[]): Promise<TaskObservation[]>;
  deploymentsEndedSince(since: number): Promise<DeploymentsTable[]>;
  historyFingerprint(pipeline: string): Promise<string>;
  taskExecutions(o: { pipeline: string; taskId: string; limit: number }): Promise<TaskExecution[]>;
  runCpuTotals(o: { pipeline: string; from: number }): Promise<RunCpuTotal[]>;
  deploymentHealth(o: { from: number; to: number }): Promise<DeploymentHealth[]>;
  deploymentsInWindow(o: { from: number; to: number }): Promise<DeploymentsTable[]>;
}

export function dashboardQueries(db: Kysely<Database>, kind: 'sqlite' | 'postgres'): DashboardQueries {
  return {
    pipelinesOf: () => pipelinesOf(db),
    runPage: (q) => runPage(db, q),
    runById: (id) => runById(db, id),
    runningRuns: () => runningRuns(db),
    runsInWindow: (o) => runsInWindow(db, o),
    cacheTotals: (o) => cacheTotals(db, o),
    taskOutcomes: (o) => taskOutcomes(db, o),
    deploymentPage: (o) => deploymentPage(db, o),
    deploymentWithTargets: (id) => deploymentWithTargets(db, id),
    runsEndedSince: (since) => runsEndedSince(db, since),
    taskObservations: (runIds) => taskObservations(db, runIds),
    deploymentsEndedSince: (since) => deploymentsEndedSince(db, since),
    historyFingerprint: (pipeline) => historyFingerprint(db, pipeline),
    taskExecutions: (o) => taskExecutions({ db, kind }, o),
    runCpuTotals: (o) => runCpuTotals(db, o),
    deploymentHealth: (o) => deploymentHealth(db, o),
    deploymentsInWindow: (o) => deploymentsInWindow(db, o),
  };
}
