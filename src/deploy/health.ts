/**
 * Health gates with Argo Rollouts' analysis semantics: each probe is a measurement (Successful,
 * Failed, Inconclusive or Error); a host's analysis is Failed past `failures` failed measurements
 * or `errors` consecutive errors, Inconclusive past `inconclusive` inconclusive ones, and
 * Successful after `successes` consecutive successes (and the samples a bake asks for).
 */
import type { HealthConfig } from './environment.js';
import type { GateOutcome } from './events.js';

export type Measurement = 'Successful' | 'Failed' | 'Inconclusive' | 'Error';

export interface Probe {
  phase: Measurement;
  status?: number;
  ms: number;
  error?: string;
}

/** One HTTP GET: 2xx listed in successStatus → Successful, 5xx → Failed, other → Inconclusive, no answer → Error. */
export async function probe(url: string, cfg: HealthConfig): Promise<Probe> {
  const t0 = performance.now();
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(cfg.timeoutMs),
      headers: { 'user-agent': 'slipway-health' },
    });
    await res.arrayBuffer().catch(() => undefined);
    const ms = performance.now() - t0;
    const phase: Measurement = cfg.successStatus.includes(res.status)
      ? 'Successful'
      : res.status >= 500
        ? 'Failed'
        : 'Inconclusive';
    return { phase, status: res.status, ms };
  } catch (e) {
    return {
      phase: 'Error',
      ms: performance.now() - t0,
      error: (e as Error).name === 'TimeoutError' ? 'timeout' : 'no answer',
    };
  }
}

/** A host's running analysis since it switched. */
export class HostAnalysis {
  successesInARow = 0;
  failed = 0;
  inconclusive = 0;
  errorsInARow = 0;
  samples = 0;
  ok = 0;

  record(m: Measurement): void {
    this.samples++;
    if (m === 'Successful') {
      this.successesInARow++;
      this.ok++;
    } else this.successesInARow = 0;
    if (m === 'Error') this.errorsInARow++;
    else this.errorsInARow = 0;
    if (m === 'Failed') this.failed++;
    if (m === 'Inconclusive') this.inconclusive++;
  }

  /** A terminal verdict, or 'Running' while more measurements are needed. */
  assess(cfg: HealthConfig, minSamples = 0): GateOutcome | 'Running' {
    if (this.failed > cfg.failures) return 'Failed';
    if (this.errorsInARow > cfg.errors) return 'Failed';
    if (this.inconclusive > cfg.inconclusive) return 'Inconclusive';
    if (this.successesInARow >= cfg.successes && this.samples >= minSamples) return 'Successful';
    return 'Running';
  }

  /** Why the verdict is not Successful, for messages. */
  explain(cfg: HealthConfig): string {
    if (this.failed > cfg.failures) return `${this.failed} failed health checks (allowed ${cfg.failures})`;
    if (this.errorsInARow > cfg.errors)
      return `${this.errorsInARow} health checks in a row got no answer (allowed ${cfg.errors})`;
    if (this.inconclusive > cfg.inconclusive)
      return `${this.inconclusive} inconclusive health checks (allowed ${cfg.inconclusive})`;
    return `${this.successesInARow} of ${cfg.successes} consecutive successes`;
  }
}

/** Worst of several outcomes: Failed beats Inconclusive beats Successful. */
export function worst(outcomes: (GateOutcome | 'Running')[]): GateOutcome | 'Running' {
  if (outcomes.includes('Failed')) return 'Failed';
  if (outcomes.includes('Inconclusive')) return 'Inconclusive';
  if (outcomes.includes('Running')) return 'Running';
  return 'Successful';
}

/** Probes until one Successful measurement or the deadline; returns the last probe. */
export async function waitHealthy(url: string, cfg: HealthConfig): Promise<Probe> {
  const deadline = Date.now() + cfg.deadlineMs;
  let p = await probe(url, cfg);
  while (p.phase !== 'Successful' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, cfg.intervalMs));
    p = await probe(url, cfg);
  }
  return p;
}
