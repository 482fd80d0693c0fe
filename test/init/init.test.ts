/**
 * `slipway init` as a new user meets it: npm, pnpm and yarn workspaces and a single package give
 * a slipway.yml that validates (with `slipway validate` and the JSON Schema), whose graph follows
 * the packages' dependencies; `--from-turbo` converts a turbo.json that turbo itself accepts and
 * reports what it could not convert; `--ci github` writes a workflow whose Slipway steps work.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelineJsonSchema } from '../../src/config/json-schema.js';
import { SLIPWAY_BIN, STACK_FRAME, Workspace } from '../helpers/cli.js';

/** The parts of a written slipway.yml the tests read (tasks as plain records). */
interface PipelineDoc {
  inputs?: string[];
  tasks: Record<string, Record<string, unknown>>;
  workspaces: { packages: string[]; tasks: Record<string, Record<string, unknown>> };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arch = process.arch === 'x64' ? '64' : process.arch;
const TURBO = path.join(ROOT, 'node_modules', '@turbo', `${process.platform}-${arch}`, 'bin', 'turbo');

const ajv = new Ajv2020({ allErrors: true, strict: false });
const schemaCheck = ajv.compile(pipelineJsonSchema());

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

function fresh(): Workspace {
  const w = new Workspace('slipway-init-');
  made.push(w);
  return w;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Packages `a` (a library) and `b` (depends on a) under `folder`, with the scripts of a real repo. */
function twoPackages(w: Workspace, folder: string): void {
  w.write(
    `${folder}/a/package.json`,
    json({
      name: '@acme/a',
      version: '1.0.0',
      main: 'lib/index.js',
      scripts: {
        build: 'mkdir -p lib && echo a > lib/index.js',
        test: 'test -f lib/index.js',
        lint: 'true',
        dev: 'sleep 1000',
      },
    }),
  );
  w.write(
    `${folder}/b/package.json`,
    json({
      name: '@acme/b',
      version: '1.0.0',
      main: 'lib/index.js',
      dependencies: { '@acme/a': '1.0.0' },
      scripts: { build: 'mkdir -p lib && echo b > lib/index.js', test: 'true', clean: 'rm -rf lib' },
    }),
  );
}

/** Runs init and checks the file: exit 0, valid for slipway and for the JSON Schema. */
async function initAndValidate(
  w: Workspace,
  args: string[] = [],
): Promise<{ out: string; doc: PipelineDoc }> {
  const r = await w.run(['init', ...args]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  const text = w.read('slipway.yml');
  expect(text).toMatch(/^# yaml-language-server: \$schema=\S+slipway\.schema\.json$/m);
  const schemaPath = /\$schema=(\S+)/.exec(text)?.[1] ?? '';
  expect(existsSync(path.resolve(w.dir, schemaPath)), schemaPath).toBe(true);
  const doc = parse(text) as PipelineDoc;
  expect(schemaCheck(doc), ajv.errorsText(schemaCheck.errors)).toBe(true);
  const v = await w.run(['validate']);
  expect(v.code, `${text}\n${v.stderr}`).toBe(0);
  return { out: r.stdout, doc };
}

async function graphEdges(w: Workspace): Promise<string> {
  const g = await w.run(['graph', '--format', 'json']);
  expect(g.code, g.stderr).toBe(0);
  return g.stdout;
}

describe('slipway init', () => {
  it('npm workspaces: templates for the scripts, ^build between packages, outputs from package.json; the run works', async () => {
    const w = fresh();
    w.write('package.json', json({ name: 'shop', private: true, workspaces: ['packages/*'] }));
    w.write('package-lock.json', json({ name: 'shop', lockfileVersion: 3, packages: {} }));
    twoPackages(w, 'packages');
    const { out, doc } = await initAndValidate(w);
    expect(out).toContain('wrote slipway.yml (build, lint, test for 2 workspace packages)');
    expect(doc.inputs).toEqual(['package-lock.json']);
    expect(doc.workspaces.tasks.build).toEqual({ needs: ['^build'], outputs: ['lib/**'] });
    expect(doc.workspaces.tasks.test).toEqual({ needs: ['build'] });
    expect(Object.keys(doc.workspaces.tasks)).not.toContain('dev');
    const text = w.read('slipway.yml');
    expect(text).toMatch(/left out, as they keep running[^\n]*: dev/);
    expect(text).toMatch(/other scripts[^\n]*: clean/);
    expect(text).toContain('package.json "workspaces" (npm)');
    const graph = await graphEdges(w);
    expect(graph).toContain('@acme/b#build');
    expect(JSON.parse(graph).edges).toContainEqual({ from: '@acme/a#build', to: '@acme/b#build' });
    const run = await w.run(['run']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(w.read('packages/b/lib/index.js')).toBe('b\n');
    // A second init does not overwrite the file.
    const again = await w.run(['init']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/slipway\.yml already exists/);
    expect(again.stderr).toMatch(/hint: pass --force/);
  });

  it('pnpm workspaces (pnpm-workspace.yaml, pnpm-lock.yaml)', async () => {
    const w = fresh();
    w.write('package.json', json({ name: 'mono', private: true }));
    w.write('pnpm-workspace.yaml', 'packages:\n  - "libs/*"\n');
    w.write('pnpm-lock.yaml', "lockfileVersion: '9.0'\n");
    twoPackages(w, 'libs');
    const { doc } = await initAndValidate(w);
    expect(doc.inputs).toEqual(['pnpm-lock.yaml']);
    expect(w.read('slipway.yml')).toContain('pnpm-workspace.yaml (pnpm)');
    expect(w.read('slipway.yml')).toMatch(/run them with pnpm run/);
    const plan = await w.run(['plan', 'build', '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    expect((JSON.parse(plan.stdout).tasks as { id: string }[]).map((t) => t.id)).toEqual([
      '@acme/a#build',
      '@acme/b#build',
    ]);
  });

  it('yarn workspaces (the { packages } form and yarn.lock)', async () => {
    const w = fresh();
    w.write('package.json', json({ name: 'mono', private: true, workspaces: { packages: ['modules/*'] } }));
    w.write('yarn.lock', '# yarn lockfile v1\n');
    twoPackages(w, 'modules');
    const { doc } = await initAndValidate(w);
    expect(doc.inputs).toEqual(['yarn.lock']);
    expect(w.read('slipway.yml')).toContain('package.json "workspaces" (yarn)');
    expect(await graphEdges(w)).toContain('@acme/a#test');
  });

  it('a single package: one task per pipeline script, run with its package manager', async () => {
    const w = fresh();
    w.write(
      'package.json',
      json({
        name: 'tool',
        scripts: { build: 'mkdir -p dist && echo x > dist/x', test: 'true', start: 'node .' },
      }),
    );
    const { doc } = await initAndValidate(w);
    expect(doc.tasks).toEqual({
      build: { run: 'npm run build', outputs: ['dist/**'] },
      test: { run: 'npm run test', needs: ['build'] },
    });
  });

  it('--from-turbo converts every key turbo accepts and reports what it could not convert', async () => {
    const w = fresh();
    w.write(
      'package.json',
      json({ name: 'shop', private: true, packageManager: 'npm@10.0.0', workspaces: ['packages/*'] }),
    );
    w.write('package-lock.json', json({ name: 'shop', lockfileVersion: 3, packages: {} }));
    twoPackages(w, 'packages');
    const turboJson = {
      $schema: 'https://turborepo.com/schema.json',
      globalDependencies: ['tsconfig.base.json'],
      globalEnv: ['CI'],
      ui: 'stream',
      tasks: {
        build: {
          dependsOn: ['^build'],
          outputs: ['lib/**', '!lib/cache/**'],
          inputs: ['$TURBO_DEFAULT$', '!README.md'],
          env: ['API_URL', 'NEXT_PUBLIC_*'],
        },
        test: { dependsOn: ['build'], inputs: ['src/**', 'test/**'], outputLogs: 'new-only' },
        lint: {},
        deploy: { dependsOn: ['build', 'test'], cache: false },
        dev: { cache: false, persistent: true },
        '@acme/b#build': { dependsOn: ['^build'], outputs: ['out/**'] },
        '//#format': { cache: false },
      },
    };
    w.write('turbo.json', json(turboJson));
    w.write('tsconfig.base.json', '{}\n');
    if (existsSync(TURBO)) {
      // A real turbo.json: turbo itself accepts every key of it.
      execFileSync('git', ['init', '-q'], { cwd: w.dir });
      const dry = spawnSync(TURBO, ['run', 'build', '--dry=json'], {
        cwd: w.dir,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TURBO_TELEMETRY_DISABLED: '1',
          DO_NOT_TRACK: '1',
        },
      });
      expect(dry.status, dry.stderr).toBe(0);
    }
    const { out, doc } = await initAndValidate(w, ['--from-turbo']);
    expect(doc.inputs).toEqual(['package-lock.json', 'tsconfig.base.json']);
    expect(doc.workspaces.tasks.build).toEqual({
      needs: ['^build'],
      inputs: ['**', '!README.md'],
      outputs: ['lib/**', '!lib/cache/**'],
      secrets: ['CI', 'API_URL'],
    });
    expect(doc.workspaces.tasks.test).toEqual({
      needs: ['build'],
      inputs: ['src/**', 'test/**'],
      secrets: ['CI'],
      outputLogs: 'new-only',
    });
    expect(doc.workspaces.tasks.deploy).toEqual({ needs: ['build', 'test'], secrets: ['CI'], cache: false });
    expect(doc.workspaces.tasks.dev).toBeUndefined();
    expect(doc.tasks['//#format']).toEqual({ run: 'npm run format', secrets: ['CI'], cache: false });
    // The report, on the terminal and at the top of the file.
    for (const said of [
      /"ui" has no counterpart/,
      /NEXT_PUBLIC_\*: patterns/,
      /env API_URL became secrets/,
      /dev: persistent .* left out/,
      /@acme\/b#build: settings for one package/,
    ]) {
      expect(out).toMatch(said);
      expect(w.read('slipway.yml')).toMatch(said);
    }
    const graph = JSON.parse(await graphEdges(w)) as { nodes: string[] };
    expect(graph.nodes).toEqual(expect.arrayContaining(['@acme/a#test', '@acme/b#build', '//#format']));
  });

  it('--from-turbo without turbo.json is a usage error', async () => {
    const w = fresh();
    const r = await w.run(['init', '--from-turbo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: no turbo.json in this folder/);
    expect(w.exists('slipway.yml')).toBe(false);
  });

  it('--ci github: restores the cache, runs with --summary and the step summary, gates with slipway check', async () => {
    const w = fresh();
    w.write('package.json', json({ name: 'tool', scripts: { build: 'mkdir -p dist && echo x > dist/x' } }));
    w.write('package-lock.json', json({ name: 'tool', lockfileVersion: 3, packages: {} }));
    const r = await w.run(['init', '--ci', 'github']);
    expect(r.code, r.stderr).toBe(0);
    const wf = parse(w.read('.github/workflows/slipway.yml')) as {
      jobs: { pipeline: { steps: { uses?: string; run?: string; with?: Record<string, string> }[] } };
    };
    const steps = wf.jobs.pipeline.steps;
    const cache = steps.findIndex((s) => s.uses?.startsWith('actions/cache@'));
    const run = steps.findIndex((s) => s.run?.includes('slipway run'));
    const check = steps.findIndex((s) => s.run?.includes('slipway check'));
    expect(cache).toBeGreaterThan(steps.findIndex((s) => s.run === 'npm ci'));
    expect(steps[cache]?.with?.path).toContain('.slipway/cache');
    expect(steps[cache]?.with?.path).toContain('.slipway/history.db');
    expect(run).toBeGreaterThan(cache);
    expect(steps[run]?.run).toMatch(/--summary \S+/);
    expect(steps[run]?.run).toContain('--markdown "$GITHUB_STEP_SUMMARY"');
    expect(check).toBeGreaterThan(run);
    // The Slipway steps, run as the runner would run them (sh, GITHUB_ACTIONS, a step summary file).
    w.write('step-summary.md', '');
    for (const s of [steps[run]!, steps[check]!]) {
      const cmd = s.run!.replace(/^npx slipway/, `"${process.execPath}" "${SLIPWAY_BIN}"`);
      const res = spawnSync('sh', ['-c', cmd], {
        cwd: w.dir,
        encoding: 'utf8',
        env: {
          ...process.env,
          GITHUB_ACTIONS: 'true',
          GITHUB_STEP_SUMMARY: w.path('step-summary.md'),
          NO_COLOR: '1',
        },
      });
      expect(res.status, `${cmd}\n${res.stdout}\n${res.stderr}`).toBe(0);
    }
    expect(w.json<{ status: string }>('slipway-summary.json').status).toBe('success');
    const md = readFileSync(w.path('step-summary.md'), 'utf8');
    expect(md).toMatch(/build/);
    expect(md.split('\n').length).toBeGreaterThan(3);
    // With slipway.yml there already, --ci writes only the workflow (and not over an existing one).
    const again = await w.run(['init', '--ci', 'github']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/workflows\/slipway\.yml already exists/);
  });
});
