/** Deployment history: table types, the store writer (an event subscriber) and queries. */
import type { Kysely } from 'kysely';
import type { EventStream } from '../events.js';
import type { Database } from '../store/schema.js';
import type { DeployEvent, TargetStatus } from './events.js';
import { leaseLive, readLease } from './lease.js';
import { describeOwner, ownerAlive } from './owner.js';

export interface DeploymentsTable {
  id: string;
  kind: string;
  environment: string;
  version: string;
  release: string;
  status: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number | null;
  git_sha: string | null;
  git_commit_at: number | null;
  artifact_bytes: number;
  bytes_sent: number;
  origin_egress_bytes: number;
  chunks_total: number;
  chunks_reused: number;
  relay: number;
  reason: string | null;
  owner_pid: number | null;
  owner_host: string | null;
  owner_start: string | null;
}

export interface DeploymentTargetsTable {
  deployment_id: string;
  target: string;
  region: string;
  agent: string;
  wave: number;
  status: string;
  previous_release: string | null;
  staged_ms: number | null;
  activated_at: number | null;
  bytes_sent: number;
  chunks_reused: number;
  chunks_fetched: number;
  health_ok: number;
  health_failed: number;
  health_inconclusive: number;
  health_errors: number;
  reason: string | null;
  phases: string;
}

declare module '../store/schema.js' {
  interface Database {
    deployments: DeploymentsTable;
    deployment_targets: DeploymentTargetsTable;
  }
}

type TargetRow = Omit<DeploymentTargetsTable, 'phases'> & {
  phases: Record<string, { at: number; ms?: number; [k: string]: unknown }>;
};

/**
 * Writes deployments as their events arrive. Writes are chained so they land in order; call
 * `flush()` before closing the store.
 */
export class DeployRecorder {
  #chain: Promise<void> = Promise.resolve();
  #errors: string[] = [];
  readonly #targets = new Map<string, TargetRow>();
  #deploymentId = '';
  #chunksReused = 0;

  constructor(
    readonly db: Kysely<Database>,
    events: EventStream<DeployEvent>,
  ) {
    events.subscribe((e) => this.#on(e));
  }

  /** Waits for every write; returns messages of writes that failed. */
  async flush(): Promise<string[]> {
    await this.#chain;
    return this.#errors;
  }

  #write(fn: () => Promise<unknown>): void {
    this.#chain = this.#chain.then(fn).then(
      () => {},
      (e: unknown) => {
        this.#errors.push(String((e as Error).message ?? e));
      },
    );
  }

  #saveTarget(name: string): void {
    const t = this.#targets.get(name);
    if (!t) return;
    const row = { ...t, phases: JSON.stringify(t.phases) };
    this.#write(() =>
      this.db
        .updateTable('deployment_targets')
        .set(row)
        .where('deployment_id', '=', t.deployment_id)
        .where('target', '=', t.target)
        .execute(),
    );
  }

  #set(
    name: string,
    patch: Partial<TargetRow>,
    phase?: [string, { at: number; ms?: number; [k: string]: unknown }],
  ): void {
    const t = this.#targets.get(name);
    if (!t) return;
    Object.assign(t, patch);
    if (phase) t.phases[phase[0]] = phase[1];
  }

  #on(e: DeployEvent): void {
    switch (e.type) {
      case 'deploy-started': {
        this.#deploymentId = e.deploymentId;
        const row: DeploymentsTable = {
          id: e.deploymentId,
          kind: e.kind,
          environment: e.environment,
          version: e.version,
          release: e.release,
          status: 'running',
          started_at: e.at,
          ended_at: null,
          duration_ms: null,
          git_sha: e.gitSha ?? null,
          git_commit_at: e.gitCommitAt ?? null,
          artifact_bytes: e.artifactBytes,
          bytes_sent: 0,
          origin_egress_bytes: 0,
          chunks_total: e.chunksTotal,
          chunks_reused: 0,
          relay: e.relay ? 1 : 0,
          reason: null,
          owner_pid: e.owner?.pid ?? null,
          owner_host: e.owner?.host ?? null,
          owner_start: e.owner?.start ?? null,
        };
        const targets: TargetRow[] = e.targets.map((t) => ({
          deployment_id: e.deploymentId,
          target: t.target,
          region: t.region,
          agent: t.agent,
          wave: t.wave,
          status: 'pending' satisfies TargetStatus,
          previous_release: null,
          staged_ms: null,
          activated_at: null,
          bytes_sent: 0,
          chunks_reused: 0,
          chunks_fetched: 0,
          health_ok: 0,
          health_failed: 0,
          health_inconclusive: 0,
          health_errors: 0,
          reason: null,
          phases: {},
        }));
        for (const t of targets) this.#targets.set(t.target, t);
        this.#write(async () => {
          await this.db.insertInto('deployments').values(row).execute();
          if (targets.length) {
            await this.db
              .insertInto('deployment_targets')
              .values(targets.map((t) => ({ ...t, phases: '{}' })))
              .execute();
          }
        });
        return;
      }
      case 'target-staging':
        this.#set(e.target, { status: 'staging', previous_release: e.previous }, [
          'stage',
          { at: e.at, source: e.source },
        ]);
        return;
      case 'target-staged': {
        const t = this.#targets.get(e.target);
        const stage = t?.phases.stage ?? { at: e.at - e.stagedMs };
        this.#chunksReused += e.chunksReused;
        this.#set(
          e.target,
          {
            status: 'staged',
            staged_ms: e.stagedMs,
            bytes_sent: e.bytesSent,
            chunks_reused: e.chunksReused,
            chunks_fetched: e.chunksFetched,
          },
          ['stage', { ...stage, ms: e.stagedMs }],
        );
        this.#saveTarget(e.target);
        return;
      }
      case 'target-failed':
        this.#set(
          e.target,
          { status: e.phase === 'stage' ? 'stage-failed' : 'activate-failed', reason: e.reason },
          [`${e.phase}-failed`, { at: e.at }],
        );
        this.#saveTarget(e.target);
        return;
      case 'target-activated':
        this.#set(e.target, { status: 'active', activated_at: e.at }, [
          'activate',
          { at: e.at - e.activateMs, ms: e.activateMs },
        ]);
        this.#saveTarget(e.target);
        return;
      case 'health-sample': {
        const t = this.#targets.get(e.target);
        if (!t) return;
        if (e.phase === 'Successful') t.health_ok++;
        else if (e.phase === 'Failed') t.health_failed++;
        else if (e.phase === 'Inconclusive') t.health_inconclusive++;
        else t.health_errors++;
        const h = t.phases.health ?? { at: e.at };
        t.phases.health = { ...h, ms: e.at - h.at };
        return;
      }
      case 'gate-finished':
        for (const t of this.#targets.values()) if (t.wave === e.wave) this.#saveTarget(t.target);
        return;
      case 'target-rolled-back':
        this.#set(
          e.target,
          {
            status: e.ok ? 'rolled-back' : 'rollback-failed',
            reason: e.reason ?? this.#targets.get(e.target)?.reason ?? null,
          },
          ['rollback', { at: e.at, to: e.to }],
        );
        this.#saveTarget(e.target);
        return;
      case 'deploy-finished': {
        for (const name of this.#targets.keys()) this.#saveTarget(name);
        const patch = {
          status: e.status,
          ended_at: e.at,
          duration_ms: e.durationMs,
          reason: e.reason ?? null,
          bytes_sent: e.bytesSent,
          origin_egress_bytes: e.originEgressBytes,
          chunks_reused: this.#chunksReused,
        };
        const id = this.#deploymentId;
        this.#write(() => this.db.updateTable('deployments').set(patch).where('id', '=', id).execute());
        return;
      }
      case 'stage-progress':
      case 'wave-started':
      case 'deploy-warning':
        return;
    }
  }
}

/** Recent deployments, newest first. */
export async function listDeployments(
  db: Kysely<Database>,
  opts: { environment?: string; limit?: number } = {},
): Promise<DeploymentsTable[]> {
  let q = db.selectFrom('deployments').selectAll();
  if (opts.environment) q = q.where('environment', '=', opts.environment);
  return q
    .orderBy('started_at', 'desc')
    .limit(opts.limit ?? 20)
    .execute();
}

/** Every deployment (of any environment) started at or after `since`, oldest first. */
export async function deploymentsSince(db: Kysely<Database>, since?: number): Promise<DeploymentsTable[]> {
  let q = db.selectFrom('deployments').selectAll();
  if (since !== undefined) q = q.where('started_at', '>=', since);
  return q.orderBy('started_at').execute();
}

/** Health checks passed and failed, summed over each deployment's targets. */
export async function healthByDeployment(
  db: Kysely<Database>,
): Promise<Map<string, { ok: number; failed: number }>> {
  const health = new Map<string, { ok: number; failed: number }>();
  const targets = await db
    .selectFrom('deployment_targets')
    .select(['deployment_id', 'health_ok', 'health_failed'])
    .execute();
  for (const t of targets) {
    const h = health.get(t.deployment_id) ?? { ok: 0, failed: 0 };
    h.ok += t.health_ok;
    h.failed += t.health_failed;
    health.set(t.deployment_id, h);
  }
  return health;
}

/** Whether deployment `id` is recorded and no longer running. */
export async function deploymentEnded(db: Kysely<Database>, id: string): Promise<boolean> {
  const row = await db.selectFrom('deployments').select('status').where('id', '=', id).executeTakeFirst();
  return row !== undefined && row.status !== 'running';
}

/** The targets of one deployment. */
export async function deploymentTargets(db: Kysely<Database>, id: string): Promise<DeploymentTargetsTable[]> {
  return db
    .selectFrom('deployment_targets')
    .selectAll()
    .where('deployment_id', '=', id)
    .orderBy('wave')
    .orderBy('target')
    .execute();
}

/**
 * Marks `running` deployments whose process is gone as `interrupted` (issue 10, defect 4). A
 * deployment is running while the environment's lease names it and is live; without a lease
 * (older records) its recorded owner decides. Called by every command that reads an
 * environment's deployments. Returns the deployments it marked.
 */
export async function markInterrupted(
  db: Kysely<Database>,
  environment?: string,
): Promise<DeploymentsTable[]> {
  const dead = await findInterrupted(db, environment);
  for (const d of dead) {
    await db
      .updateTable('deployments')
      .set({ status: 'interrupted', reason: d.reason, ended_at: d.ended_at })
      .where('id', '=', d.id)
      .where('status', '=', 'running')
      .execute();
  }
  return dead;
}

/**
 * The `running` deployments whose process is gone, as they are to be recorded (status
 * `interrupted`, a reason naming the dead owner), without writing: a read-only store can still
 * show them right.
 */
export async function findInterrupted(
  db: Kysely<Database>,
  environment?: string,
): Promise<DeploymentsTable[]> {
  let q = db.selectFrom('deployments').selectAll().where('status', '=', 'running');
  if (environment) q = q.where('environment', '=', environment);
  const marked: DeploymentsTable[] = [];
  for (const d of await q.execute()) {
    const lease = await readLease(db, d.environment);
    if (lease?.deploymentId === d.id && leaseLive(lease)) continue;
    const owner =
      d.owner_pid === null || d.owner_host === null
        ? undefined
        : { pid: d.owner_pid, host: d.owner_host, start: d.owner_start ?? '' };
    // Leased by someone else, or not at all: only a process we can see running keeps it open.
    if (owner && !lease && ownerAlive(owner) === true) continue;
    const who = owner ? `its process (${describeOwner(owner)}) is gone` : 'its process is gone';
    const reason = `interrupted: ${who}; the fleet may be mixed: run \`slipway rollback ${d.environment}\` or deploy again`;
    marked.push({ ...d, status: 'interrupted', reason, ended_at: Date.now() });
  }
  return marked;
}

/**
 * What `slipway rollback` returns to. After an interrupted deployment (a fleet that may be
 * mixed): the release that was live fleet-wide before it, i.e. the last successful deployment
 * before it; after an interrupted rollback: that rollback's own target, to finish it. Otherwise
 * the release live before the current one. Undefined when the store knows no such release.
 */
export async function rollbackTarget(
  db: Kysely<Database>,
  environment: string,
): Promise<{ current: DeploymentsTable; previous: DeploymentsTable; interrupted: boolean } | undefined> {
  const rows = await db
    .selectFrom('deployments')
    .selectAll()
    .where('environment', '=', environment)
    .where('status', '!=', 'running')
    .orderBy('started_at', 'desc')
    .limit(200)
    .execute();
  const real = (r: DeploymentsTable) => !r.release.startsWith('(');
  const latest = rows[0];
  if (latest?.status === 'interrupted') {
    if (latest.kind === 'rollback' && real(latest))
      return { current: latest, previous: latest, interrupted: true };
    const before = rows.slice(1).find((r) => r.status === 'success' && real(r));
    return before ? { current: latest, previous: before, interrupted: true } : undefined;
  }
  const successes = rows.filter((r) => r.status === 'success' && real(r));
  const current = successes[0];
  if (!current) return undefined;
  const previous = successes.find((r) => r.release !== current.release);
  return previous ? { current, previous, interrupted: false } : undefined;
}
