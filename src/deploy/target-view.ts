/**
 * One deployment target as users see it: `slipway deployments --json` and the dashboard's
 * deployment page show the same fields under the same names, made here from the stored row.
 */
import type { DeploymentTargetsTable } from '../store/schema.js';

/** A target's timeline phase (stage, activate, gate, bake…), in the order they happened. */
export interface PhaseView {
  name: string;
  at: number;
  ms: number | null;
}

export interface TargetView {
  target: string;
  region: string;
  wave: number;
  status: string;
  previousRelease: string | null;
  stagedMs: number | null;
  activatedAt: number | null;
  bytesSent: number;
  chunksReused: number;
  chunksFetched: number;
  health: { ok: number; failed: number; inconclusive: number; errors: number };
  reason: string | null;
  phases: PhaseView[];
}

export function targetView(t: DeploymentTargetsTable): TargetView {
  return {
    target: t.target,
    region: t.region,
    wave: t.wave,
    status: t.status,
    previousRelease: t.previous_release,
    stagedMs: t.staged_ms,
    activatedAt: t.activated_at === null ? null : Number(t.activated_at),
    bytesSent: Number(t.bytes_sent),
    chunksReused: t.chunks_reused,
    chunksFetched: t.chunks_fetched,
    health: {
      ok: t.health_ok,
      failed: t.health_failed,
      inconclusive: t.health_inconclusive,
      errors: t.health_errors,
    },
    reason: t.reason,
    phases: phasesOf(t.phases),
  };
}

/** The stored phases (`{"stage": {"at", "ms"}, …}`), by time; a damaged record shows none. */
function phasesOf(text: string): PhaseView[] {
  try {
    const v = JSON.parse(text) as Record<string, { at?: unknown; ms?: unknown }>;
    return Object.entries(v)
      .filter(([, p]) => typeof p?.at === 'number')
      .map(([name, p]) => ({ name, at: p.at as number, ms: typeof p.ms === 'number' ? p.ms : null }))
      .sort((a, b) => a.at - b.at);
  } catch {
    return [];
  }
}
