/** What an agent reports on GET /v1/status: its protocol, releases and their times, app, chunks, staging and lock. */
import { DEPLOY_PROTOCOL } from '../protocol.js';
import type { ReleaseId } from '../types.js';
import type { AppStatus, AppSupervisor } from './app.js';
import type { ChunkIndex } from './chunk-index.js';
import type { DeployLock } from './deploy-lock.js';
import type { KeptReleases } from './kept-releases.js';
import type { Layout } from './layout.js';
import type { ReleaseTimes } from './release-times.js';
import { currentRelease } from './releases.js';

export interface AgentStatus {
  protocol: number;
  current: ReleaseId | null;
  releases: { id: ReleaseId; version: string; stagedAt?: number; activatedAt?: number }[];
  app: AppStatus;
  chunks: number;
  /** Chunks received but in no release yet (a transfer in progress or interrupted). */
  pooled: number;
  staging: ReleaseId[];
  lock: { holder: string; owner: string; expiresAt: number } | null;
}

export interface StatusSources {
  layout: Layout;
  kept: Pick<KeptReleases, 'manifests'>;
  times: ReleaseTimes;
  app: AppSupervisor;
  index: ChunkIndex;
  /** Releases being staged now. */
  staging: Iterable<ReleaseId>;
  lock: DeployLock;
}

/** Builds the status from each part's own state. */
export async function agentStatus(s: StatusSources): Promise<AgentStatus> {
  return {
    protocol: DEPLOY_PROTOCOL,
    current: await currentRelease(s.layout),
    releases: [...s.kept.manifests].map(([id, m]) => ({ id, version: m.version, ...s.times.of(id) })),
    app: s.app.status(),
    chunks: s.index.size,
    pooled: s.index.pooled,
    staging: [...s.staging],
    lock: s.lock.current,
  };
}
