/** `slipway analyze k8s`: manifests against the rollout model, probe, resource and availability rules. */
import type { ContainerFinding } from '../findings.js';
import { seconds } from '../format.js';
import type { Manifest, ManifestError } from './manifests.js';
import { type Observations, observedFor } from './observed.js';
import { readySeconds, timing } from './probes.js';
import { cpuMillis, memBytes } from './quantity.js';
import { estimateRollout, type RolloutEstimate, resolveStrategy, settingsForTarget } from './rollout.js';
import { availabilityRules } from './rules-availability.js';
import { probeRules } from './rules-probes.js';
import { resourceRules } from './rules-resources.js';
import { get, obj, workloads } from './workloads.js';

export interface RolloutReport {
  file: string;
  line: number;
  deployment: string;
  current: RolloutEstimate;
  /** How the pod ready time was found. */
  readyBasis: string;
  targetSeconds: number;
  options: RolloutEstimate[];
  /** Requests of one pod, for the capacity cost of surge. */
  podCpuMillis: number;
  podMemoryBytes: number;
}

export interface K8sAnalysis {
  rollouts: RolloutReport[];
  findings: ContainerFinding[];
  errors: ManifestError[];
}

export interface K8sOptions {
  observed?: Observations;
  /** Rollout duration to reach; default: half the current one. */
  targetSeconds?: number;
}

export function analyzeManifests(
  manifests: readonly Manifest[],
  errors: ManifestError[],
  o: K8sOptions = {},
): K8sAnalysis {
  const observed = o.observed ?? new Map();
  const loads = workloads(manifests);
  const findings: ContainerFinding[] = [];
  const rollouts: RolloutReport[] = [];
  for (const w of loads) {
    findings.push(...probeRules(w, observed), ...resourceRules(w, observed));
    if (w.manifest.kind !== 'Deployment') continue;
    const m = w.manifest;
    const type = String(get(m.data, ['spec', 'strategy', 'type']) ?? 'RollingUpdate');
    if (type !== 'RollingUpdate') continue;
    const declared = get(m.data, ['spec', 'replicas']);
    const replicas = typeof declared === 'number' ? declared : 1;
    const ru = obj(get(m.data, ['spec', 'strategy', 'rollingUpdate']));
    const strategy = resolveStrategy(replicas, ru.maxSurge, ru.maxUnavailable);
    const minReady = Number(get(m.data, ['spec', 'minReadySeconds']) ?? 0);
    // The slowest app container decides when the pod is ready.
    let ready = 0;
    let basis = 'first readiness probe (a lower bound: start-up time unknown)';
    let cpu = 0;
    let mem = 0;
    for (const c of w.containers) {
      const req = obj(obj(c.spec.resources).requests);
      if (!c.init) {
        cpu += cpuMillis(req.cpu) ?? 0;
        mem += memBytes(req.memory) ?? 0;
      }
      if (c.init) continue;
      const obs = observedFor(observed, m.name, c.name);
      if (obs?.startupSeconds !== undefined)
        basis = `measured start-up ${seconds(obs.startupSeconds)} (${obs.source}) rounded up to the readiness probe's schedule`;
      ready = Math.max(
        ready,
        readySeconds(timing(c.spec.readinessProbe), timing(c.spec.startupProbe), obs?.startupSeconds),
      );
    }
    if (ready === 0) {
      // No readiness probe and no measured start-up: the model would claim instant pods.
      continue;
    }
    const round = ready + minReady;
    const current = estimateRollout(strategy, round);
    const target = o.targetSeconds ?? Math.max(round, Math.floor(current.seconds / 2));
    const options = settingsForTarget(replicas, round, target).filter((x) => x.seconds < current.seconds);
    const at = m.at(['spec', 'strategy']);
    rollouts.push({
      file: m.file,
      line: at.line,
      deployment: m.name,
      current,
      readyBasis: basis,
      targetSeconds: target,
      options,
      podCpuMillis: cpu,
      podMemoryBytes: mem,
    });
    const best = options[0];
    findings.push({
      rule: 'K8S-rollout-time',
      severity: 'note',
      file: m.file,
      ...at,
      message: `${m.name}: a rollout of ${replicas} replicas takes ${current.rounds} rounds × ${seconds(round)} ≈ ${seconds(current.seconds)} (maxSurge ${strategy.surge}, maxUnavailable ${strategy.unavailable}; pod ready after ${seconds(ready)}: ${basis}${minReady ? `, + minReadySeconds ${minReady}` : ''})`,
      hint: best
        ? `for ≤ ${seconds(target)}: ${options.map((x) => `maxSurge ${x.surge}/maxUnavailable ${x.unavailable} → ${seconds(x.seconds)}, +${x.extraPods} pods at peak${x.extraPods ? ` (${((x.extraPods * cpu) / 1000).toFixed(2)} CPU, ${Math.round((x.extraPods * mem) / 1024 ** 2)} MiB)` : ''}, ≥ ${x.minAvailable} available`).join('; ')}`
        : 'already at one round: only a faster pod start-up shortens it',
      ...(best
        ? {
            saving: {
              unit: 'seconds' as const,
              value: current.seconds - best.seconds,
              before: current.seconds,
              after: best.seconds,
              text: `${seconds(current.seconds - best.seconds)} per rollout`,
            },
          }
        : {}),
    });
  }
  findings.push(...availabilityRules(manifests, loads));
  return { rollouts, findings, errors };
}
