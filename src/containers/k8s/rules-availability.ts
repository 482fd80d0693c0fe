/** Availability and scaling: PodDisruptionBudgets against replicas, rollouts and HPAs; HPA metric types. */
import type { ContainerFinding } from '../findings.js';
import type { Manifest } from './manifests.js';
import { scaled } from './quantity.js';
import { resolveStrategy } from './rollout.js';
import { get, obj, selects, type Workload } from './workloads.js';

/** Metric names that are totals over the system, not per-pod loads. */
const TOTAL_METRIC = /queue|backlog|lag|pending|depth|length|inflight|messages/i;

export function availabilityRules(
  manifests: readonly Manifest[],
  loads: readonly Workload[],
): ContainerFinding[] {
  const out: ContainerFinding[] = [];
  const hpas = manifests.filter((m) => m.kind === 'HorizontalPodAutoscaler');
  const pdbs = manifests.filter((m) => m.kind === 'PodDisruptionBudget');
  const hpaFor = (w: Workload) =>
    hpas.find((h) => {
      const ref = obj(get(h.data, ['spec', 'scaleTargetRef']));
      return (
        ref.kind === w.manifest.kind && ref.name === w.manifest.name && h.namespace === w.manifest.namespace
      );
    });

  for (const pdb of pdbs) {
    const w = loads.find(
      (x) => x.manifest.namespace === pdb.namespace && selects(get(pdb.data, ['spec', 'selector']), x.labels),
    );
    if (!w) continue;
    const hpa = hpaFor(w);
    const declared = get(w.manifest.data, ['spec', 'replicas']);
    const replicas = typeof declared === 'number' ? declared : 1;
    const minR = hpa ? Number(get(hpa.data, ['spec', 'minReplicas']) ?? 1) : replicas;
    const spec = obj(pdb.data.spec);
    // PDB percentages round up (minAvailable and maxUnavailable both).
    const allowed = (n: number) =>
      spec.maxUnavailable !== undefined
        ? scaled(spec.maxUnavailable, n, true, '0')
        : spec.minAvailable !== undefined
          ? n - scaled(spec.minAvailable, n, true, '0')
          : n;
    const field = spec.maxUnavailable !== undefined ? 'maxUnavailable' : 'minAvailable';
    const at = { file: pdb.file, ...pdb.at(['spec', field]) };
    if (allowed(replicas) <= 0)
      out.push({
        rule: 'K8S-pdb-blocks-drain',
        severity: 'error',
        ...at,
        message: `PodDisruptionBudget ${pdb.name} allows no disruption of ${w.manifest.kind} ${w.manifest.name} at ${replicas} replicas: node drains and cluster upgrades hang until someone deletes it`,
        hint: `${field === 'minAvailable' ? `minAvailable: ${Math.max(0, replicas - 1)}` : 'maxUnavailable: 1'} (or more replicas)`,
      });
    else if (hpa && allowed(minR) <= 0)
      out.push({
        rule: 'K8S-hpa-min-vs-pdb',
        severity: 'warning',
        file: hpa.file,
        ...hpa.at(['spec', 'minReplicas']),
        message: `HPA ${hpa.name} can scale ${w.manifest.name} down to ${minR}, where PodDisruptionBudget ${pdb.name} allows no disruption: drains block at night-time scale`,
        hint: `minReplicas: ${minR + 1} or a PDB with maxUnavailable: 1`,
      });
    if (w.manifest.kind === 'Deployment') {
      const ru = obj(get(w.manifest.data, ['spec', 'strategy', 'rollingUpdate']));
      const s = resolveStrategy(replicas, ru.maxSurge, ru.maxUnavailable);
      const budget = allowed(replicas);
      if (budget > 0 && s.unavailable > budget)
        out.push({
          rule: 'K8S-unavailable-vs-pdb',
          severity: 'warning',
          file: w.manifest.file,
          ...w.manifest.at(['spec', 'strategy', 'rollingUpdate', 'maxUnavailable']),
          message: `${w.manifest.name}'s rollout takes ${s.unavailable} pods out at once, but PodDisruptionBudget ${pdb.name} promises at most ${budget}: rollouts do not honour PDBs, so a rollout during a drain goes below it`,
          hint: `maxUnavailable: ${budget} and more maxSurge for the same speed`,
        });
    }
  }

  for (const hpa of hpas) {
    const metrics = get(hpa.data, ['spec', 'metrics']);
    (Array.isArray(metrics) ? metrics : []).forEach((raw, i) => {
      const metric = obj(raw);
      const name = String(get(metric, ['pods', 'metric', 'name']) ?? '');
      if (metric.type === 'Pods' && TOTAL_METRIC.test(name))
        out.push({
          rule: 'K8S-hpa-pods-metric-total',
          severity: 'warning',
          file: hpa.file,
          ...hpa.at(['spec', 'metrics', i, 'type']),
          message: `HPA ${hpa.name} scales on \`${name}\` as a Pods metric, averaged over pods: a queue's length is a total, and if each pod reports the whole queue the average never falls as pods are added (it overshoots to maxReplicas)`,
          hint: `type: External with external.metric.name: ${name} and target.type: AverageValue (the HPA divides the total by the replica count)`,
        });
    });
    if (get(hpa.data, ['spec', 'behavior']) === undefined)
      out.push({
        rule: 'K8S-hpa-no-behavior',
        severity: 'note',
        file: hpa.file,
        ...hpa.at(['spec']),
        message: `HPA ${hpa.name} has no behavior: the default scale-down removes up to 100% of surplus pods per 15 s after a 5 min window`,
        hint: 'behavior.scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: Percent, value: 50, periodSeconds: 60 }] }',
      });
    const ref = obj(get(hpa.data, ['spec', 'scaleTargetRef']));
    const target = loads.find(
      (w) =>
        w.manifest.kind === ref.kind &&
        w.manifest.name === ref.name &&
        w.manifest.namespace === hpa.namespace,
    );
    if (target && get(target.manifest.data, ['spec', 'replicas']) !== undefined)
      out.push({
        rule: 'K8S-replicas-with-hpa',
        severity: 'note',
        file: target.manifest.file,
        ...target.manifest.at(['spec', 'replicas']),
        message: `${target.manifest.name} sets replicas while HPA ${hpa.name} scales it: every apply resets the count and the HPA scales again`,
        hint: 'leave spec.replicas out of the manifest when an HPA owns it',
      });
  }
  return out;
}
