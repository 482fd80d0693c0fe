/** Pod templates of workload manifests, with the YAML path to each part. */
import type { Manifest, YamlPath } from './manifests.js';

export interface Container {
  name: string;
  init: boolean;
  spec: Record<string, unknown>;
  path: YamlPath;
}

export interface Workload {
  manifest: Manifest;
  /** Path of the pod spec (`spec.template.spec` for a Deployment). */
  podPath: YamlPath;
  pod: Record<string, unknown>;
  labels: Record<string, string>;
  containers: Container[];
}

const TEMPLATE: Record<string, YamlPath> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Pod: [],
};

export function get(obj: unknown, p: YamlPath): unknown {
  let v = obj;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

export function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The workloads among manifests. */
export function workloads(manifests: readonly Manifest[]): Workload[] {
  const out: Workload[] = [];
  for (const m of manifests) {
    const t = TEMPLATE[m.kind];
    if (!t) continue;
    const podPath = [...t, 'spec'];
    const pod = obj(get(m.data, podPath));
    const labels = obj(get(m.data, [...t, 'metadata', 'labels'])) as Record<string, string>;
    const containers: Container[] = [];
    for (const [key, init] of [
      ['initContainers', true],
      ['containers', false],
    ] as const) {
      const list = pod[key];
      if (!Array.isArray(list)) continue;
      for (const [i, c] of list.entries())
        containers.push({
          name: String(obj(c).name ?? `#${i}`),
          init,
          spec: obj(c),
          path: [...podPath, key, i],
        });
    }
    out.push({ manifest: m, podPath, pod, labels, containers });
  }
  return out;
}

/** True when a label selector's matchLabels (and bare-map selectors) select these labels. */
export function selects(selector: unknown, labels: Record<string, string>): boolean {
  const s = obj(selector);
  const match = obj(s.matchLabels ?? (s.matchExpressions ? {} : s));
  const keys = Object.keys(match);
  if (keys.length === 0 && !s.matchExpressions) return false;
  return keys.every((k) => String(labels[k]) === String(match[k]));
}
