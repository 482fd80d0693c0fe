import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Workspace, workspace } from '../helpers/cli.js';

/** analyze: in slipway.yml: `report` ranks the time-saving findings, `check` fails on a severity. */
describe('analyze: in slipway.yml with report and check', () => {
  let ws: Workspace;
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args],
      {
        cwd: ws.dir,
        stdio: 'ignore',
      },
    );

  beforeAll(async () => {
    ws = workspace(
      [
        'version: 1',
        'tasks:',
        '  install:',
        // The command names npm ci: its measured time stands for the Dockerfile's install step.
        '    run: node -e "/* npm ci */ setTimeout(() => {}, 200)"',
        '    cache: false',
        'analyze:',
        '  docker: [Dockerfile]',
        '  k8s: [deploy]',
        '  failOn: error',
        '',
      ].join('\n'),
    );
    ws.write('.gitignore', '.slipway/\n');
    ws.write('package.json', '{"name":"x"}\n');
    ws.write(
      'Dockerfile',
      'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD ["node","index.js"]\n',
    );
    ws.write('.dockerignore', '.slipway\n.git\n');
    ws.write(
      'deploy/web.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 4\n  template:\n    spec:\n      containers:\n        - name: web\n          image: web:1\n          readinessProbe: { httpGet: { path: /, port: 80 }, initialDelaySeconds: 10 }\n',
    );
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'init');
    for (let i = 0; i < 3; i++) {
      ws.write('index.js', `console.log(${i})\n`);
      git('add', '-A');
      git('commit', '-q', '-m', `src ${i}`);
    }
    for (let i = 0; i < 2; i++) expect((await ws.run(['run'], { timeoutMs: 60_000 })).code).toBe(0);
  });
  afterAll(() => ws?.cleanup());

  test('report: the layer-order and rollout findings join the ranked recommendations', async () => {
    const r = await ws.run(['report', '--json']);
    expect(r.stderr).toBe('');
    const rec = JSON.parse(r.stdout).recommendations.filter((x: { kind: string }) => x.kind === 'container');
    const targets = rec.map((x: { target: string }) => x.target);
    expect(targets).toContain('Dockerfile:3'); // COPY . . before npm ci
    expect(targets).toContain('deploy/web.yaml:4'); // rollout settings (no strategy: spec)
    const layer = rec.find((x: { target: string }) => x.target === 'Dockerfile:3');
    expect(layer.evidence.join(' ')).toMatch(/median of 2 runs of task install/);
    expect(layer.savedMsPerRun).toBeGreaterThan(0);
    // npm ci reruns after 4 of 4 commits now, after 1 of 4 (the first) with manifests first.
    expect(layer.predictedMs / layer.baselineMs).toBeCloseTo(0.25, 2);
    expect(layer.baselineMs - layer.predictedMs).toBeCloseTo(layer.savedMsPerRun, -1);
    const sorted = [...rec].sort((a, b) => b.savedMsPerRun - a.savedMsPerRun);
    expect(rec).toEqual(sorted);
  });

  test('check: passes at failOn error, fails with --fail-on warning, lists the findings', async () => {
    const pass = await ws.run(['check', '--json']);
    const a = JSON.parse(pass.stdout);
    expect(a.containers.failOn).toBe('error');
    expect(a.containers.failing).toEqual([]);
    expect(pass.code).toBe(0);
    const fail = await ws.run(['check', '--fail-on', 'warning']);
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('Dockerfile:3:1 DL-layer-invalidation');
  });

  test('analyze all: every configured Dockerfile and manifest folder, in one SARIF log', async () => {
    const r = await ws.run(['analyze', 'all', '--sarif']);
    expect(r.code).toBe(0);
    const uris = new Set(
      JSON.parse(r.stdout).runs[0].results.map(
        (x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
          x.locations[0]!.physicalLocation.artifactLocation.uri,
      ),
    );
    expect([...uris].sort()).toEqual(['Dockerfile', 'deploy/web.yaml']);
    const none = workspace('version: 1\ntasks:\n  a: { run: "true" }\n');
    try {
      const r2 = await none.run(['analyze', 'all']);
      expect(r2.code).toBe(2);
      expect(r2.stderr).toContain('no analyze: section');
    } finally {
      none.cleanup();
    }
  });

  test('a missing path in analyze: is a config error at its line', async () => {
    const other = workspace('version: 1\ntasks:\n  a: { run: "true" }\nanalyze:\n  k8s:\n    - nowhere\n');
    try {
      const r = await other.run(['check']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/slipway\.yml:6:\d+/);
      expect(r.stderr).toContain('no such file or folder: nowhere');
    } finally {
      other.cleanup();
    }
  });
});
