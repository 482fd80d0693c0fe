/**
 * Deployment history: the recorder (an event subscriber writing through the store's deployment
 * queries), interrupted-deployment detection and the rollback target. No SQL here: the rows are
 * the store's (store/deployments.ts).
 */
import type { EventStream } from '../events.js';
import type { DeploymentQueries } from '../store/deployments.js';
import type { DeploymentsTable, DeploymentTargetsTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { DeployEvent, TargetStatus } from './events.js';
import { leaseLive, readLease } from './lease.js';
import { describeOwner, ownerAlive } from './owner.js';

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
    readonly deployments: DeploymentQueries,
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
    this.#write(() => this.deployments.saveTarget(row));
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
        this.#write(() =>
          this.deployments.start(
            row,
            targets.map((t) => ({ ...t, phases: '{}' })),
          ),
        );
        return;
      }
      case 'target-staging':
        this.#set(
          e.target,
          { status: 'staging', ...(e.previous !== undefined ? { previous_release: e.previous } : {}) },
          ['stage', { at: e.at, source: e.source }],
        );
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
        this.#set(e.target, { status: 'active', activated_at: e.at, previous_release: e.previous }, [
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
        this.#write(() => this.deployments.finish(id, patch));
        return;
      }
      case 'stage-progress':
      case 'wave-started':
      case 'deploy-warning':
        return;
    }
  }
}

/** Whether deployment `id` is recorded and no longer running. */
export async function deploymentEnded(store: Pick<Store, 'deployments'>, id: string): Promise<boolean> {
  const status = await store.deployments.statusOf(id);
  return status !== undefined && status !== 'running';
}

/**
 * Marks `running` deployments whose process is gone as `interrupted` (issue 10, defect 4). A
 * deployment is running while the environment's lease names it and is live; without a lease
 * (older records) its recorded owner decides. Called by every command that reads an
 * environment's deployments. Returns the deployments it marked.
 */
export async function markInterrupted(
  store: Pick<Store, 'deployments' | 'leases'>,
  environment?: string,
): Promise<DeploymentsTable[]> {
  const dead = await findInterrupted(store, environment);
  await store.deployments.interrupt(dead);
  return dead;
}

/**
 * The `running` deployments whose process is gone, as they are to be recorded (status
 * `interrupted`, a reason naming the dead owner), without writing: a read-only store can still
 * show them right.
 */
export async function findInterrupted(
  store: Pick<Store, 'deployments' | 'leases'>,
  environment?: string,
): Promise<DeploymentsTable[]> {
  const marked: DeploymentsTable[] = [];
  for (const d of await store.deployments.running(environment)) {
    const lease = await readLease(store.leases, d.environment);
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
  store: Pick<Store, 'deployments'>,
  environment: string,
): Promise<{ current: DeploymentsTable; previous: DeploymentsTable; interrupted: boolean } | undefined> {
  const rows = await store.deployments.ended(environment, 200);
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
