import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Workspace, workspace } from '../helpers/cli.js';

/**
 * A repository with a known history: 1 initial commit (everything), 2 that change the manifests,
 * 12 that change sources and 5 that change a file .dockerignore leaves out. `COPY . .` before
 * `npm ci` makes the install rerun after 15 of the 20 commits; manifests first: 3 of 20.
 */
describe('slipway analyze docker on a repository with known commits', () => {
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
  const commit = (msg: string) => {
    git('add', '-A');
    git('commit', '-q', '-m', msg);
  };

  beforeAll(() => {
    ws = workspace();
    git('init', '-q');
    ws.write('app/package.json', '{"name":"app","version":"1.0.0"}\n');
    ws.write('app/package-lock.json', '{"lockfileVersion":3}\n');
    ws.write('app/src/index.js', 'console.log(0)\n');
    ws.write('app/NOTES.md', 'notes 0\n');
    ws.write('app/.dockerignore', '# local only\nnode_modules\n*.md\n!README.md\n');
    ws.write(
      'app/Dockerfile',
      [
        'FROM node:20-alpine',
        'WORKDIR /app',
        'COPY . .',
        'RUN npm ci --omit=dev',
        'USER node',
        'CMD ["node", "src/index.js"]',
        '',
      ].join('\n'),
    );
    ws.write('other/file.txt', 'outside the context\n');
    commit('initial');
    for (let i = 1; i <= 2; i++) {
      ws.write('app/package.json', `{"name":"app","version":"1.0.${i}"}\n`);
      commit(`deps ${i}`);
    }
    for (let i = 1; i <= 12; i++) {
      ws.write('app/src/index.js', `console.log(${i})\n`);
      commit(`src ${i}`);
    }
    for (let i = 1; i <= 5; i++) {
      ws.write('app/NOTES.md', `notes ${i}\n`);
      ws.write('other/file.txt', `outside ${i}\n`);
      commit(`notes ${i}`);
    }
    // Dependencies in the context but ignored, and a .git the context would send.
    ws.write('app/node_modules/left-pad/index.js', 'x'.repeat(5000));
  });
  afterAll(() => ws?.cleanup());

  test('install reruns after 15 of 20 commits; manifests first: 3 of 20; the time saved from --install-time', async () => {
    const r = await ws.run(['analyze', 'docker', 'app/Dockerfile', '--json', '--install-time', '80s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = JSON.parse(r.stdout);
    expect(a.commits).toBe(20);
    const byLine = Object.fromEntries(
      a.layers.map((l: { line: number; rebuilt: number }) => [l.line, l.rebuilt]),
    );
    expect(byLine).toEqual({ 1: 0, 2: 0, 3: 15, 4: 15, 5: 15, 6: 15 });
    const f = a.findings.find((x: { rule: string }) => x.rule === 'DL-layer-invalidation');
    expect(f).toMatchObject({ line: 3, severity: 'warning' });
    expect(f.message).toContain('75% of the last 20 commits');
    expect(f.message).toContain('15%');
    // (15 − 3) / 20 of builds × 80 s
    expect(f.saving).toMatchObject({ unit: 'seconds', value: 48 });
    // .dockerignore applied: node_modules and NOTES.md are not sent
    expect(a.context.ignoreFile).toMatch(/\.dockerignore$/);
    expect(a.context.sent.files).toBe(5); // package.json, lock, src/index.js, .dockerignore, Dockerfile
    expect(a.findings.some((x: { rule: string }) => x.rule === 'DL-context-unignored')).toBe(false);
  });

  test('a stable COPY after a volatile one: recopied after 15 of 20 commits, its own sources change in 3', async () => {
    ws.write(
      'app/Dockerfile.two',
      'FROM node:20-alpine AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nFROM node:20-alpine\nCOPY --from=build /app/src ./src\nCOPY package.json ./\nCMD ["node", "src/index.js"]\n',
    );
    const r = await ws.run(['analyze', 'docker', 'app/Dockerfile.two', '--context', 'app', '--json']);
    const a = JSON.parse(r.stdout);
    const f = a.findings.filter((x: { rule: string }) => x.rule === 'DL-layer-order');
    expect(f.map((x: { line: number }) => x.line)).toEqual([7]);
    expect(f[0].message).toContain('after 75% of the last 20 commits');
    expect(f[0].message).toContain('line 6');
    expect(f[0].saving).toMatchObject({ unit: 'share', value: 0.6 });
  });

  test('--commits limits the history read', async () => {
    const r = await ws.run(['analyze', 'docker', 'app/Dockerfile', '--json', '--commits', '5']);
    const a = JSON.parse(r.stdout);
    expect(a.commits).toBe(5);
    // the last 5 commits only touch ignored or outside files
    expect(a.layers.find((l: { line: number }) => l.line === 4).rebuilt).toBe(0);
  });

  test('the context without .dockerignore sends node_modules: the saving is its size', async () => {
    ws.write('ctx2/Dockerfile', 'FROM node:20-alpine\nCOPY . .\n');
    ws.write('ctx2/node_modules/a/index.js', 'y'.repeat(20_000));
    ws.write('ctx2/server.js', 'z'.repeat(100));
    const r = await ws.run(['analyze', 'docker', 'ctx2/Dockerfile', '--json']);
    const a = JSON.parse(r.stdout);
    expect(a.context.sent).toEqual({
      files: 3,
      bytes: 20_000 + 100 + 'FROM node:20-alpine\nCOPY . .\n'.length,
    });
    const f = a.findings.find((x: { rule: string }) => x.rule === 'DL-context-unignored');
    expect(f).toMatchObject({ line: 1, saving: { unit: 'bytes', value: 20_000 } });
    expect(a.findings.some((x: { rule: string }) => x.rule === 'DL-no-dockerignore')).toBe(true);
  });

  test('SARIF 2.1.0 with rules, levels and repository-relative locations', async () => {
    const r = await ws.run(['analyze', 'docker', 'app/Dockerfile', '--sarif']);
    const s = JSON.parse(r.stdout);
    expect(s.version).toBe('2.1.0');
    const run = s.runs[0];
    expect(run.tool.driver.name).toBe('slipway');
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex].id).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
      const loc = res.locations[0].physicalLocation;
      expect(loc.artifactLocation.uri).toBe('app/Dockerfile');
      expect(loc.region.startLine).toBeGreaterThanOrEqual(1);
      expect(typeof res.partialFingerprints.primaryLocationLineHash).toBe('string');
    }
    expect(run.results.map((x: { ruleId: string }) => x.ruleId)).toContain('DL-layer-invalidation');
  });

  test('--fail-on: exit 1 at or above the severity, 0 below', async () => {
    expect((await ws.run(['analyze', 'docker', 'app/Dockerfile', '--fail-on', 'warning'])).code).toBe(1);
    expect((await ws.run(['analyze', 'docker', 'app/Dockerfile', '--fail-on', 'error'])).code).toBe(0);
  });

  test('bad input: exit 2 with the offending value and a hint, no stack trace', async () => {
    const missing = await ws.run(['analyze', 'docker', 'nope/Dockerfile']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no Dockerfile at nope/Dockerfile');
    expect(missing.stderr).toContain('hint:');
    const bad = await ws.run(['analyze', 'docker', 'app/Dockerfile', '--fail-on', 'fatal']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--fail-on fatal');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
