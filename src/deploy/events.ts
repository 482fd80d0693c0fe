/**
 * Deploy events on the shared EventStream: the orchestrator emits, the store writer, the live
 * reporter and the summary subscribe. Nothing else finds out what happened.
 */
import type { Measurement } from './health.js';
import type { Owner } from './owner.js';

export type DeployStatus = 'running' | 'success' | 'failed' | 'rolled-back' | 'interrupted';
export type TargetStatus =
  | 'pending'
  | 'staging'
  | 'staged'
  | 'stage-failed'
  | 'activating'
  | 'active'
  | 'activate-failed'
  | 'rolled-back'
  | 'rollback-failed'
  | 'skipped';
export type GateOutcome = 'Successful' | 'Failed' | 'Inconclusive';

export interface PlannedTarget {
  target: string;
  region: string;
  wave: number;
  agent: string;
}

export type DeployEvent =
  | {
      type: 'deploy-started';
      deploymentId: string;
      kind: 'deploy' | 'rollback';
      environment: string;
      version: string;
      release: string;
      at: number;
      artifactBytes: number;
      files: number;
      chunksTotal: number;
      chunkMs: number;
      relay: boolean;
      waves: string[][];
      targets: PlannedTarget[];
      gitSha?: string;
      gitCommitAt?: number;
      /** The deploying process, so a later command can tell a dead deployment from a running one. */
      owner?: Owner;
    }
  | {
      type: 'target-staging';
      deploymentId: string;
      target: string;
      at: number;
      source: 'origin' | 'relay';
      /**
       * What the host ran then (null: nothing); absent when not known yet, as in a redeploy in
       * one exchange (agent/deploy-exchange.ts), whose target-activated says it.
       */
      previous?: string | null;
    }
  | {
      type: 'stage-progress';
      deploymentId: string;
      target: string;
      chunksTotal: number;
      chunksReused: number;
      chunksFetched: number;
      bytesFetched: number;
    }
  | {
      type: 'target-staged';
      deploymentId: string;
      target: string;
      at: number;
      stagedMs: number;
      bytesSent: number;
      chunksReused: number;
      chunksFetched: number;
      alreadyStaged: boolean;
    }
  | {
      type: 'target-failed';
      deploymentId: string;
      target: string;
      at: number;
      phase: 'stage' | 'activate';
      reason: string;
    }
  | { type: 'wave-started'; deploymentId: string; wave: number; regions: string[]; at: number }
  | {
      type: 'target-activated';
      deploymentId: string;
      target: string;
      at: number;
      activateMs: number;
      previous: string | null;
    }
  | {
      type: 'health-sample';
      deploymentId: string;
      target: string;
      at: number;
      phase: Measurement;
      status?: number;
      ms: number;
      error?: string;
    }
  | {
      type: 'gate-finished';
      deploymentId: string;
      wave: number;
      outcome: GateOutcome;
      at: number;
      reason?: string;
      bakeMs: number;
    }
  | {
      type: 'target-rolled-back';
      deploymentId: string;
      target: string;
      at: number;
      to: string | null;
      ok: boolean;
      reason?: string;
    }
  | {
      type: 'deploy-finished';
      deploymentId: string;
      at: number;
      status: Exclude<DeployStatus, 'running'>;
      durationMs: number;
      reason?: string;
      bytesSent: number;
      originEgressBytes: number;
    }
  | {
      /** What the agent measured of the app after it switched (agent/app-validation.ts). */
      type: 'app-validated';
      deploymentId: string;
      target: string;
      wave: number;
      release: string;
      at: number;
      startupMs: number | null;
      rssBytes: number | null;
      cpuCores: number | null;
      settleMs: number;
      problem?: string;
      /** Budgets it exceeded, as messages. */
      overBudget: string[];
    }
  | { type: 'deploy-warning'; deploymentId: string; message: string };
