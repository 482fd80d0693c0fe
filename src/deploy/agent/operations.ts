/** What the agent's operations take and return (agent.ts), as the HTTP API and its client see them. */
import type { ChunkSourceRef } from '../chunk-client.js';
import type { ChunkId, ReleaseId } from '../types.js';
import type { AppSpec } from './app.js';
import type { ValidateRequest } from './app-validation.js';

export interface StageRequest {
  release: string;
  manifest: unknown;
  /** Where to pull missing chunks from, in order of preference (relay first, then origin). */
  sources?: ChunkSourceRef[];
  /** The deployment (lock holder) staging it: its releases survive pruning while it holds the lock. */
  holder?: string;
  /** For new chunks, a chunk this agent may have at the same place before: fetched as a delta. */
  bases?: Record<ChunkId, ChunkId[]>;
  /**
   * The caller activates the release right after (agent/deploy-exchange.ts): its staging time is
   * saved with the activation's, one write of the state instead of two.
   */
  activateNext?: boolean;
}

export interface StageProgress {
  chunksTotal: number;
  chunksReused: number;
  chunksFetched: number;
  bytesFetched: number;
}

export interface StageResult extends StageProgress {
  release: ReleaseId;
  alreadyStaged: boolean;
  bytesReused: number;
  /** Unchanged files hard-linked or cloned from a kept release instead of being rebuilt from chunks. */
  filesCopied: number;
  ms: number;
}

export interface ActivateRequest {
  /** A staged release, or null to stop the app and remove `current` (rollback of a first deploy). */
  release: ReleaseId | null;
  app?: AppSpec;
  keep?: number;
  /** What `current` must be now; when it differs, another deployment moved this host: refused. */
  expected?: ReleaseId | null;
  /** Measure the app once started (app-validation.ts). */
  validate?: ValidateRequest;
}

export interface ActivateResult {
  previous: ReleaseId | null;
  current: ReleaseId | null;
  pid: number | null;
}

/**
 * What a staging came to, as POST /v1/deploy answers it: counts absent are 0, `already` absent
 * false (an unchanged redeploy's answer has none). The deployer knows how many chunks the release
 * has: those not fetched were reused.
 */
export interface StagedCounts {
  fetched?: number;
  bytes?: number;
  already?: true;
}

/**
 * The lines (NDJSON) of a POST /v1/deploy answer: progress while staging, then one last line,
 * `done` once staged and activated, or `error`, with `staged` when staging succeeded and the
 * activation failed (and what ran before it, which a rollback returns to).
 */
export type DeployLine =
  | ({ type: 'progress' } & StageProgress)
  /** `previous` absent: it was the request's base. */
  | ({ type: 'done'; previous?: ReleaseId | null } & StagedCounts)
  | { type: 'error'; message: string; staged?: StagedCounts & { previous: ReleaseId | null } };
