/** The Kustomize base renders offline (kubectl kustomize) into the objects the README promises. */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
if (!hasKubectl)
  console.warn('skipping the Kustomize test: kubectl is not installed (apt-get install kubernetes-client)');

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field below
type Obj = Record<string, any>;

describe.skipIf(!hasKubectl)('deploy/k8s', () => {
  const text = hasKubectl
    ? execFileSync('kubectl', ['kustomize', path.join(ROOT, 'deploy/k8s')], { encoding: 'utf8' })
    : '';
  const objects: Obj[] = parseAllDocuments(text).map((d) => d.toJS() as Obj);
  const one = (kind: string) => {
    const found = objects.filter((o) => o.kind === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };

  it('has a worker Deployment with rolling updates, probes, requests and limits, not running as root', () => {
    const d = one('Deployment');
    expect(d.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    const pod = d.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    const [c] = pod.containers;
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'metrics' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'metrics' });
    expect(c.resources.requests).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(c.resources.limits).toMatchObject({ cpu: expect.anything(), memory: expect.anything() });
    expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
    // The generated ConfigMap's hashed name is what the pod refers to.
    const cm = one('ConfigMap');
    expect(c.envFrom).toContainEqual({ configMapRef: { name: cm.metadata.name } });
  });

  it("PDB, Service and ServiceMonitor select the Deployment's pods and metrics port", () => {
    const labels = one('Deployment').spec.template.metadata.labels;
    const matches = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
    const pdb = one('PodDisruptionBudget');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    const svc = one('Service');
    expect(matches(svc.spec.selector)).toBe(true);
    const sm = one('ServiceMonitor');
    expect(matches(sm.spec.selector.matchLabels)).toBe(true);
    expect(Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => svc.metadata.labels[k] === v)).toBe(
      true,
    );
    expect(sm.spec.endpoints).toContainEqual(expect.objectContaining({ port: 'metrics', path: '/metrics' }));
  });

  it("has an HPA on the queue length (External, AverageValue), CPU 70% and memory 80%, with the brief's behaviour", () => {
    const hpa = one('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toMatchObject({
      kind: 'Deployment',
      name: one('Deployment').metadata.name,
    });
    const ext = hpa.spec.metrics.find((m: Obj) => m.type === 'External');
    expect(ext.external.metric.name).toBe('slipway_queue_length');
    expect(ext.external.target.type).toBe('AverageValue');
    const util = (name: string) =>
      hpa.spec.metrics.find((m: Obj) => m.type === 'Resource' && m.resource.name === name)?.resource.target;
    expect(util('cpu')).toEqual({ type: 'Utilization', averageUtilization: 70 });
    expect(util('memory')).toEqual({ type: 'Utilization', averageUtilization: 80 });
    expect(hpa.spec.behavior.scaleUp).toMatchObject({
      stabilizationWindowSeconds: 60,
      policies: [{ type: 'Percent', value: 100, periodSeconds: 60 }],
    });
    expect(hpa.spec.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 300,
      policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
    });
  });
});
