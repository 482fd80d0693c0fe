/** A deployment as analytics sees it, whether recorded by `slipway deploy` or inferred from a run. */

export type DeploymentOutcome =
  | 'success'
  | 'failed'
  | 'rolled-back'
  | 'running'
  | 'interrupted'
  | 'cancelled';

export interface Deployment {
  id: string;
  environment: string;
  status: DeploymentOutcome;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  gitSha?: string;
  /** Commit time of the deployed HEAD (epoch ms), for lead time. */
  gitCommitAt?: number;
  /** A rollback restores a previous release: it recovers service but ships no change. Default deploy. */
  kind?: 'deploy' | 'rollback';
  /** Where the record came from: the deployments table or a run with a task tagged `deploy`. */
  source: 'deployments' | 'run';
  bytesSent?: number;
  artifactBytes?: number;
  /** Health samples across targets, when the deploy feature recorded them. */
  healthOk?: number;
  healthFailed?: number;
}

/** A finished deployment that failed in production terms (failed or rolled back). */
export function isFailure(d: Deployment): boolean {
  return d.status === 'failed' || d.status === 'rolled-back';
}

/** A deployment that reached an outcome (not still running, not cancelled before it mattered). */
export function isFinished(d: Deployment): boolean {
  return d.status === 'success' || isFailure(d);
}

/** A deployment that shipped a change (not a rollback). */
export function isChange(d: Deployment): boolean {
  return d.kind !== 'rollback';
}
