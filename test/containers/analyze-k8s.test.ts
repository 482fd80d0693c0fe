import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/containers');

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('slipway analyze k8s', () => {
  let ws: Workspace;
  beforeAll(() => {
    ws = workspace();
  });
  afterAll(() => ws?.cleanup());

  test("the brief's Deployment and HPA from the command line, with lines", async () => {
    const r = await ws.run(['analyze', 'k8s', path.join(FIXTURES, 'brief'), '--json']);
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout);
    const at = (rule: string) =>
      a.findings
        .filter((f: { rule: string }) => f.rule === rule)
        .map((f: { file: string; line: number }) => `${path.basename(f.file)}:${f.line}`);
    expect(at('K8S-hpa-pods-metric-total')).toEqual(['hpa.yaml:26']);
    expect(at('K8S-liveness-equals-readiness')).toEqual(['deployment.yaml:31']);
    expect(a.rollouts[0].current.seconds).toBe(20);
  });

  test.skipIf(!hasKubectl())(
    'a kustomize overlay rendered by kubectl kustomize, with measured start-up and a target',
    async () => {
      const rendered = execFileSync('kubectl', ['kustomize', path.join(FIXTURES, 'kustomize/prod')], {
        encoding: 'utf8',
      });
      ws.write('rendered.yaml', rendered);
      ws.write('metrics.json', JSON.stringify({ containers: { 'web/web': { startupSeconds: 22 } } }));
      const r = await ws.run([
        'analyze',
        'k8s',
        'rendered.yaml',
        '--metrics',
        'metrics.json',
        '--target',
        '60s',
        '--json',
      ]);
      expect(r.stderr).toBe('');
      const a = JSON.parse(r.stdout);
      const web = a.rollouts[0];
      // replicas 8 from the overlay, maxSurge 25% → 2 (rounded up), maxUnavailable 0: 4 rounds;
      // start-up 22 s on the probe schedule 15 + 5k → ready at 25 s.
      expect(web.current).toMatchObject({
        replicas: 8,
        surge: 2,
        unavailable: 0,
        rounds: 4,
        roundSeconds: 25,
        seconds: 100,
      });
      expect(web.targetSeconds).toBe(60);
      // 60 s allows 2 rounds: 4 pods per round.
      expect(web.options[0]).toMatchObject({
        surge: 4,
        unavailable: 0,
        seconds: 50,
        extraPods: 4,
        minAvailable: 8,
      });
      const finding = a.findings.find((f: { rule: string }) => f.rule === 'K8S-rollout-time');
      expect(finding.line).toBe(rendered.split('\n').findIndex((l) => l.startsWith('  strategy:')) + 1);
      expect(finding.saving).toMatchObject({ unit: 'seconds', value: 50 });
      // The probe's 15 s delay and 5 s period report a 22 s start-up at 25 s.
      expect(
        a.findings.find((f: { rule: string }) => f.rule === 'K8S-probe-slows-rollout').saving.value,
      ).toBe(3);
    },
  );

  test('a bad metrics file: exit 2 naming the file and the value', async () => {
    ws.write('bad.json', JSON.stringify({ containers: { web: { startupSeconds: 'slow' } } }));
    const r = await ws.run(['analyze', 'k8s', path.join(FIXTURES, 'brief'), '--metrics', 'bad.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.json: containers.web.startupSeconds');
  });

  test('--sarif and --fail-on', async () => {
    const r = await ws.run([
      'analyze',
      'k8s',
      path.join(FIXTURES, 'k8s/api.yaml'),
      '--sarif',
      '--fail-on',
      'error',
    ]);
    expect(r.code).toBe(1); // the PDB that blocks drains is an error
    const s = JSON.parse(r.stdout);
    const pdb = s.runs[0].results.find((x: { ruleId: string }) => x.ruleId === 'K8S-pdb-blocks-drain');
    expect(pdb.level).toBe('error');
    expect(pdb.locations[0].physicalLocation.region.startLine).toBe(37);
  });
});

describe('slipway analyze k8s --deployed ENV', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = workspace(pipelineYaml({ build: { run: 'true' } }));
    // What the agents measured after three activations of prod (and one of staging, not used).
    const store = await openStore({ root: ws.dir });
    try {
      const row = (deployment: string, environment: string, startupMs: number) => ({
        deployment_id: deployment,
        target: 'eu-1',
        environment,
        release: deployment,
        wave: 0,
        measured_at: Date.now(),
        startup_ms: startupMs,
        rss_bytes: 300 * 1024 * 1024,
        cpu_cores: 0.2,
        settle_ms: 1000,
        problem: null,
      });
      await store.appValidations.insert(row('d1', 'prod', 110_000));
      await store.appValidations.insert(row('d2', 'prod', 120_000));
      await store.appValidations.insert(row('d3', 'prod', 130_000));
      await store.appValidations.insert(row('d4', 'staging', 1_000));
    } finally {
      await store.close();
    }
  });
  afterAll(() => ws?.cleanup());

  test("judges probes against the start-up the agents measured on the environment's deploys", async () => {
    const r = await ws.run(['analyze', 'k8s', path.join(FIXTURES, 'brief'), '--deployed', 'prod', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const a = JSON.parse(r.stdout) as { findings: { rule: string; message: string }[] };
    // The median of 110, 120 and 130 s: the brief's liveness probe fires long before that.
    const measured = a.findings.filter((f) => f.message.includes('measured on 3 deploys of prod'));
    expect(measured.map((f) => f.rule)).toContain('K8S-liveness-before-startup');
    expect(measured.some((f) => f.message.includes('takes 2 min to start'))).toBe(true);
  });

  test('an environment without measurements is a usage error', async () => {
    const r = await ws.run(['analyze', 'k8s', path.join(FIXTURES, 'brief'), '--deployed', 'qa']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --deployed qa: no deploy of it with app measurements in the history$/m);
  });
});
