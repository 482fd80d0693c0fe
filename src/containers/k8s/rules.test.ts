import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { analyzeManifests } from './analyze.js';
import { parseManifests } from './manifests.js';
import { metricsFileSchema, observationsFrom } from './observed.js';

const FIXTURES = new URL('../../../test/fixtures/containers/', import.meta.url);
const read = (p: string) => readFileSync(new URL(p, FIXTURES), 'utf8');

function analyze(files: string[], withMetrics = false) {
  const manifests = files.flatMap((f) => parseManifests(f, read(f)).manifests);
  const observed = withMetrics
    ? observationsFrom(metricsFileSchema.parse(JSON.parse(read('k8s/metrics.json'))), 'metrics.json')
    : undefined;
  return analyzeManifests(manifests, [], observed ? { observed } : {});
}

const lines = (a: ReturnType<typeof analyze>) =>
  a.findings.map((f) => `${f.file}:${f.line} ${f.rule}`).sort();

/** Every finding with its line: nothing missing, nothing extra. */
describe('Kubernetes rules on the corpus, line by line', () => {
  test("the brief's own Deployment and HPA", () => {
    const a = analyze(['brief/deployment.yaml', 'brief/hpa.yaml']);
    expect(lines(a)).toEqual(
      [
        'brief/deployment.yaml:8 K8S-rollout-time', // spec.strategy
        'brief/deployment.yaml:17 K8S-latest-pull-always', // image: myapp:latest
        'brief/deployment.yaml:24 K8S-cpu-limit-throttle', // limits.cpu: 500m
        'brief/deployment.yaml:31 K8S-liveness-equals-readiness', // both GET /health:3000
        'brief/deployment.yaml:35 K8S-no-startup-probe', // liveness initialDelaySeconds: 30
        'brief/deployment.yaml:39 K8S-latest-pull-always', // init container myapp-migrate:latest
        'brief/deployment.yaml:41 K8S-missing-memory-limit', // init container: requests only
        'brief/hpa.yaml:26 K8S-hpa-pods-metric-total', // type: Pods, deployment_queue_length
      ].sort(),
    );
    // 3 replicas, maxSurge 1, maxUnavailable 1: two rounds of the first readiness probe (10 s).
    expect(a.rollouts[0]!.current).toMatchObject({
      replicas: 3,
      surge: 1,
      unavailable: 1,
      rounds: 2,
      seconds: 20,
    });
  });

  test('an API and a worker, with observed start-up and use', () => {
    const a = analyze(['k8s/api.yaml', 'k8s/worker.yaml'], true);
    expect(lines(a)).toEqual(
      [
        'k8s/api.yaml:7 K8S-rollout-time',
        'k8s/api.yaml:21 K8S-request-vs-usage', // cpu 2 requested, p90 300m
        'k8s/api.yaml:22 K8S-memory-limit-under-peak', // 1Gi limit, 1400Mi peak
        'k8s/api.yaml:23 K8S-probe-slows-rollout', // up at 38 s, ready reported at 40 s
        'k8s/api.yaml:27 K8S-liveness-before-startup', // fails 3× by 15 s, starts in 38 s
        'k8s/api.yaml:29 K8S-no-startup-probe',
        'k8s/api.yaml:37 K8S-pdb-blocks-drain', // maxUnavailable: 0
        'k8s/worker.yaml:6 K8S-replicas-with-hpa',
        'k8s/worker.yaml:11 K8S-unavailable-vs-pdb', // 75% of 4 = 3 > 2 allowed
        'k8s/worker.yaml:21 K8S-init-no-resources',
        'k8s/worker.yaml:25 K8S-no-readiness',
        'k8s/worker.yaml:26 K8S-latest-pull-always', // untagged + Always
        'k8s/worker.yaml:29 K8S-missing-requests', // no cpu request
        'k8s/worker.yaml:32 K8S-cpu-limit-throttle', // peak 250m at a 250m limit
        'k8s/worker.yaml:49 K8S-hpa-no-behavior',
        'k8s/worker.yaml:54 K8S-hpa-min-vs-pdb', // minReplicas 2, PDB minAvailable 2
        'k8s/worker.yaml:57 K8S-hpa-pods-metric-total', // jobs_backlog
      ].sort(),
    );
    const api = a.rollouts.find((r) => r.deployment === 'api')!;
    // Start-up 38 s on a probe schedule of 20 + 10k → ready at 40 s, + minReadySeconds 5.
    expect(api.current).toMatchObject({
      replicas: 10,
      surge: 3,
      unavailable: 2,
      rounds: 2,
      roundSeconds: 45,
      seconds: 90,
    });
    expect(a.findings.find((f) => f.rule === 'K8S-cpu-limit-throttle')!.severity).toBe('warning');
  });

  test('without metrics, measured-impact rules stay silent', () => {
    const rules = analyze(['k8s/api.yaml']).findings.map((f) => f.rule);
    expect(rules).not.toContain('K8S-liveness-before-startup');
    expect(rules).not.toContain('K8S-memory-limit-under-peak');
    expect(rules).not.toContain('K8S-request-vs-usage');
  });

  test('List kinds and several documents keep their own lines', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: { name: a }\n    spec:\n      replicas: 2\n      template:\n        spec:\n          containers:\n            - name: c\n              image: x:1\n';
    const { manifests } = parseManifests('l.yaml', text);
    expect(manifests.map((m) => [m.kind, m.name])).toEqual([['Deployment', 'a']]);
    expect(manifests[0]!.at(['spec', 'template', 'spec', 'containers', 0, 'image'])).toEqual({
      line: 13,
      col: 15,
    });
  });

  test('a YAML error is reported with its line, other documents still analysed', () => {
    const { manifests, errors } = parseManifests(
      'e.yaml',
      'kind: Deployment\nmetadata: { name: a\n---\nkind: Service\nmetadata: { name: b }\n',
    );
    expect(errors[0]!.line).toBeGreaterThan(0);
    expect(manifests.map((m) => m.name)).toEqual(['b']);
  });
});
