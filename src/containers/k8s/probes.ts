/** Probe timing: when a pod becomes ready, given its probes and (when known) its start-up time. */
import { obj } from './workloads.js';

export interface ProbeTiming {
  initialDelaySeconds: number;
  periodSeconds: number;
  failureThreshold: number;
  successThreshold: number;
}

/** A probe's timing with Kubernetes' defaults (0, 10, 3, 1). */
export function timing(probe: unknown): ProbeTiming | null {
  if (!probe || typeof probe !== 'object') return null;
  const p = obj(probe);
  const n = (k: string, d: number) => (typeof p[k] === 'number' ? (p[k] as number) : d);
  return {
    initialDelaySeconds: n('initialDelaySeconds', 0),
    periodSeconds: n('periodSeconds', 10),
    failureThreshold: n('failureThreshold', 3),
    successThreshold: n('successThreshold', 1),
  };
}

/** The handler a probe calls, as a comparable string. */
export function handler(probe: unknown): string | null {
  const p = obj(probe);
  if (p.httpGet) {
    const h = obj(p.httpGet);
    return `http ${String(h.port)} ${String(h.path ?? '/')}`;
  }
  if (p.tcpSocket) return `tcp ${String(obj(p.tcpSocket).port)}`;
  if (p.grpc) return `grpc ${String(obj(p.grpc).port)} ${String(obj(p.grpc).service ?? '')}`;
  if (p.exec) return `exec ${JSON.stringify(obj(p.exec).command)}`;
  return null;
}

/**
 * Seconds from container start to Ready. With a measured start-up time: the first readiness
 * probe at or after it (probes run at initialDelay + k·period), plus successThreshold − 1 more
 * periods. Without: the first probe (a lower bound).
 */
export function readySeconds(
  readiness: ProbeTiming | null,
  startup: ProbeTiming | null,
  startupSeconds: number | undefined,
): number {
  const t = startupSeconds ?? 0;
  // A startup probe holds readiness back until it succeeds.
  const startupDone = startup ? firstProbeAtOrAfter(startup, t) : t;
  if (!readiness) return startupDone;
  return (
    firstProbeAtOrAfter(readiness, Math.max(t, startupDone)) +
    (readiness.successThreshold - 1) * readiness.periodSeconds
  );
}

function firstProbeAtOrAfter(p: ProbeTiming, t: number): number {
  if (t <= p.initialDelaySeconds) return p.initialDelaySeconds;
  return p.initialDelaySeconds + Math.ceil((t - p.initialDelaySeconds) / p.periodSeconds) * p.periodSeconds;
}

/** Seconds after start at which liveness has failed failureThreshold times while the app still starts. */
export function livenessKillsAt(liveness: ProbeTiming, startup: ProbeTiming | null): number {
  // With a startup probe, liveness only begins after it succeeded: no early kill from liveness.
  if (startup) return Infinity;
  return liveness.initialDelaySeconds + (liveness.failureThreshold - 1) * liveness.periodSeconds;
}
