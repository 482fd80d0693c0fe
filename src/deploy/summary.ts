/** The `--summary FILE` JSON of a deployment, built from its events. */
import type { EventStream } from '../events.js';
import type { DeployEvent, GateOutcome, TargetStatus } from './events.js';
import type { Measurement } from './health.js';

export interface TargetSummary {
  target: string;
  region: string;
  wave: number;
  status: TargetStatus;
  previous: string | null;
  source?: 'origin' | 'relay';
  stagedMs?: number;
  bytesSent: number;
  chunksReused: number;
  chunksFetched: number;
  health: Record<Measurement, number>;
  reason?: string;
}

export interface DeploySummary {
  deploymentId: string;
  kind: 'deploy' | 'rollback';
  environment: string;
  version: string;
  release: string;
  status: string;
  reason?: string;
  startedAt: number;
  endedAt?: number;
  durationMs?: number;
  artifact: { bytes: number; files: number; chunks: number; chunkMs: number };
  transfer: {
    relay: boolean;
    /** Bytes that crossed the network to all targets (chunk frames + manifests). */
    bytesSent: number;
    /** bytesSent / (artifact bytes × targets): 1 is a full copy to everyone. */
    ratio: number;
    originEgressBytes: number;
    chunksReused: number;
    chunksFetched: number;
  };
  waves: { wave: number; regions: string[]; outcome?: GateOutcome; reason?: string; bakeMs?: number }[];
  targets: TargetSummary[];
}

/** Accumulates a summary from the event stream; read `summary` after `deploy-finished`. */
export class SummaryBuilder {
  summary: DeploySummary | undefined;

  constructor(events: EventStream<DeployEvent>) {
    events.subscribe((e) => this.#on(e));
  }

  #target(name: string): TargetSummary | undefined {
    return this.summary?.targets.find((t) => t.target === name);
  }

  #on(e: DeployEvent): void {
    if (e.type === 'deploy-started') {
      this.summary = {
        deploymentId: e.deploymentId,
        kind: e.kind,
        environment: e.environment,
        version: e.version,
        release: e.release,
        status: 'running',
        startedAt: e.at,
        artifact: {
          bytes: e.artifactBytes,
          files: e.files,
          chunks: e.chunksTotal,
          chunkMs: Math.round(e.chunkMs),
        },
        transfer: {
          relay: e.relay,
          bytesSent: 0,
          ratio: 0,
          originEgressBytes: 0,
          chunksReused: 0,
          chunksFetched: 0,
        },
        waves: e.waves.map((regions, i) => ({ wave: i + 1, regions })),
        targets: e.targets.map((t) => ({
          target: t.target,
          region: t.region,
          wave: t.wave,
          status: 'pending',
          previous: null,
          bytesSent: 0,
          chunksReused: 0,
          chunksFetched: 0,
          health: { Successful: 0, Failed: 0, Inconclusive: 0, Error: 0 },
        })),
      };
      return;
    }
    const s = this.summary;
    if (!s) return;
    switch (e.type) {
      case 'target-staging': {
        const t = this.#target(e.target);
        if (t)
          Object.assign(t, {
            status: 'staging',
            source: e.source,
            ...(e.previous !== undefined ? { previous: e.previous } : {}),
          });
        return;
      }
      case 'target-staged': {
        const t = this.#target(e.target);
        if (t) {
          Object.assign(t, {
            status: 'staged',
            stagedMs: e.stagedMs,
            bytesSent: e.bytesSent,
            chunksReused: e.chunksReused,
            chunksFetched: e.chunksFetched,
          });
        }
        s.transfer.chunksReused += e.chunksReused;
        s.transfer.chunksFetched += e.chunksFetched;
        return;
      }
      case 'target-failed': {
        const t = this.#target(e.target);
        if (t)
          Object.assign(t, {
            status: e.phase === 'stage' ? 'stage-failed' : 'activate-failed',
            reason: e.reason,
          });
        return;
      }
      case 'target-activated': {
        const t = this.#target(e.target);
        if (t) {
          t.status = 'active';
          t.previous = e.previous;
        }
        return;
      }
      case 'health-sample': {
        const t = this.#target(e.target);
        if (t) t.health[e.phase]++;
        return;
      }
      case 'gate-finished': {
        const w = s.waves[e.wave - 1];
        if (w) Object.assign(w, { outcome: e.outcome, reason: e.reason, bakeMs: e.bakeMs });
        return;
      }
      case 'target-rolled-back': {
        const t = this.#target(e.target);
        if (t) {
          t.status = e.ok ? 'rolled-back' : 'rollback-failed';
          if (e.reason) t.reason = e.reason;
        }
        return;
      }
      case 'deploy-finished': {
        Object.assign(s, { status: e.status, reason: e.reason, endedAt: e.at, durationMs: e.durationMs });
        s.transfer.bytesSent = e.bytesSent;
        s.transfer.originEgressBytes = e.originEgressBytes;
        const full = s.artifact.bytes * s.targets.length;
        s.transfer.ratio = full > 0 ? Number((e.bytesSent / full).toFixed(4)) : 0;
        return;
      }
      default:
        return;
    }
  }
}
