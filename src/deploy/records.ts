/** Deployment history: table types, the store writer (an event subscriber) and queries. */
import type { Kysely } from 'kysely';
import type { EventStream } from '../events.js';
import type { Database } from '../store/schema.js';
import type { DeployEvent, TargetStatus } from './events.js';

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
  const rows = await q
    .orderBy('started_at', 'desc')
    .limit(opts.limit ?? 20)
    .execute();
  return rows.map(numbers);
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
 * What `slipway rollback` returns to: the release live before the current one, from the
 * successful deployments (and rollbacks) of the environment.
 */
export async function previousRelease(
  db: Kysely<Database>,
  environment: string,
): Promise<{ current: DeploymentsTable; previous: DeploymentsTable } | undefined> {
  const rows = await db
    .selectFrom('deployments')
    .selectAll()
    .where('environment', '=', environment)
    .where('status', '=', 'success')
    .orderBy('started_at', 'desc')
    .limit(50)
    .execute();
  const real = rows.filter((r) => !r.release.startsWith('('));
  const current = real[0];
  if (!current) return undefined;
  const previous = real.find((r) => r.release !== current.release);
  return previous ? { current: numbers(current), previous: numbers(previous) } : undefined;
}

// PostgreSQL returns bigint columns as strings.
function numbers(r: DeploymentsTable): DeploymentsTable {
  return {
    ...r,
    started_at: Number(r.started_at),
    ended_at: r.ended_at === null ? null : Number(r.ended_at),
    duration_ms: r.duration_ms === null ? null : Number(r.duration_ms),
    git_commit_at: r.git_commit_at === null ? null : Number(r.git_commit_at),
    artifact_bytes: Number(r.artifact_bytes),
    bytes_sent: Number(r.bytes_sent),
    origin_egress_bytes: Number(r.origin_egress_bytes),
  };
}
