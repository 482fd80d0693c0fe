/**
 * The package as a user gets it: `npm pack` ships exactly what runs (bin, the bundle, the JSON
 * Schema, README, LICENSE, and the native client's C source with the script its postinstall
 * compiles it with: no other sources, source maps or benchmarks), and the tarball, installed
 * offline into an empty project, runs `npx slipway --version`, `init`, `validate` and `run`.
 * A driver that cannot load (the SQLite binding, the optional pg) is one line with the way out.
 *
 * Two things stand in for what an online install does: `npm pack --ignore-scripts` packs the
 * build `npm test` just made (its `prepack` would rebuild dist/ under the other test files'
 * feet; the test checks that prepack builds), and better-sqlite3's native binding is copied
 * from this checkout, where an online install would have downloaded the same prebuilt binary
 * (offline, its install script would compile it from source for minutes).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_FRAME } from '../helpers/cli.js';
import { scratchPostgres } from '../helpers/postgres.js';
import { offlineLock } from './offline-lock.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BINDING = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
const own = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  scripts: Record<string, string>;
};
const postgres = scratchPostgres('pack');

let tmp: string;
let project: string;
let tarball: string;
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '1', CI: '1', npm_config_update_notifier: 'false', ...env },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

/** `npx slipway …` in the project, as a user types it (npx finds the installed bin). */
const slipway = (args: string[], env: Record<string, string> = {}) =>
  sh('npx', ['--offline', '--no-install', 'slipway', ...args], project, env);

describe('npm pack and an offline install of the tarball', () => {
  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'slipway-pack-'));
    const name = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop()!;
    tarball = path.join(tmp, name);
    project = path.join(tmp, 'project');
    mkdirSync(project);
  });

  it('ships bin, the bundle, the dashboard, the schema, README and LICENSE, and nothing else; prepack builds', () => {
    expect(own.scripts.prepack).toMatch(/npm run build/);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((f) => f.replace(/^package\//, ''))
      .sort();
    const other = files.filter((f) => !/^dist\/(cli|dashboard)\/[^/]+\.(c?js|css)$/.test(f));
    expect(other).toEqual([
      'LICENSE',
      'README.md',
      // CommonJS for bin/slipway.js, which requires dist/cli/launch.cjs (no ES module loader).
      'bin/package.json',
      'bin/slipway.js',
      // The content hashes of the cold deploy bundle and of its parts, which key their V8 code
      // caches (src/cli/cold-start.ts, src/cli/cold-chunk.ts).
      'dist/cli/cold-config.cjs.json',
      'dist/cli/cold-delta-schema.cjs.json',
      'dist/cli/cold-deploy.cjs.json',
      'dist/cli/cold-otel-deploys.cjs.json',
      'dist/cli/cold-otel-runs.cjs.json',
      'dist/slipway.schema.json',
      'package.json',
      // The daemon's native client ships as source, compiled by postinstall for the machine
      // it is installed on (never a binary built elsewhere).
      'scripts/build-native-client.mjs',
      // The same for the agent's native writer of small files (a Node-API addon).
      'scripts/build-native-writes.mjs',
      'src/daemon/client.c',
      'src/deploy/agent/copy-direct.c',
      'src/deploy/agent/link-many.c',
      'src/deploy/agent/whole-file.c',
    ]);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/cli/prefetch.js');
    expect(files).toContain('dist/cli/cold-deploy.cjs');
    expect(files).toContain('dist/cli/cold-config.cjs');
    // slipway serve and report --html read the dashboard's bundled script and stylesheet.
    expect(files).toEqual(expect.arrayContaining(['dist/dashboard/app.js', 'dist/dashboard/app.css']));
  });

  it('installs offline into an empty project and runs --version, init, validate and run', () => {
    const rel = path.relative(project, tarball);
    writeFileSync(
      path.join(project, 'package.json'),
      `${JSON.stringify({ name: 'project', version: '1.0.0', private: true, dependencies: { slipway: `file:${rel}` }, scripts: { build: 'mkdir -p dist && echo built > dist/out.txt', test: 'test -f dist/out.txt' } }, null, 2)}\n`,
    );
    writeFileSync(
      path.join(project, 'package-lock.json'),
      offlineLock({ repoRoot: ROOT, tarball: rel, tarballFile: tarball, name: 'project' }),
    );
    const install = sh('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], project);
    expect(install.code, install.out).toBe(0);
    // What prebuild-install would have downloaded online.
    mkdirSync(path.dirname(path.join(project, BINDING)), { recursive: true });
    copyFileSync(path.join(ROOT, BINDING), path.join(project, BINDING));
    // What the package's own postinstall does in an install with scripts: compile the daemon's
    // native client and the agent's writer for this machine (or print one line each and leave
    // the JavaScript ones).
    const postinstall = sh('npm', ['rebuild', 'slipway', '--offline', '--foreground-scripts'], project);
    expect(postinstall.code, postinstall.out).toBe(0);
    const hasCompiler = spawnSync('sh', ['-c', `command -v ${process.env.CC || 'cc'}`]).status === 0;
    expect(existsSync(path.join(project, 'node_modules/slipway/dist/cli/slipway-client'))).toBe(hasCompiler);
    expect(existsSync(path.join(project, 'node_modules/slipway/dist/cli/whole-file.node'))).toBe(
      hasCompiler &&
        existsSync(path.join(path.dirname(process.execPath), '..', 'include', 'node', 'node_api.h')),
    );
    // Only the runtime dependencies came along: the bundled libraries did not.
    for (const bundled of ['commander', 'zod', 'yaml', 'kysely'])
      expect(existsSync(path.join(project, 'node_modules', bundled)), bundled).toBe(false);

    const version = slipway(['--version']);
    expect(version.code, version.out).toBe(0);
    expect(version.stdout.trim()).toBe(own.version);

    const init = slipway(['init']);
    expect(init.code, init.out).toBe(0);
    const yml = readFileSync(path.join(project, 'slipway.yml'), 'utf8');
    expect(yml).toContain('# yaml-language-server: $schema=node_modules/slipway/dist/slipway.schema.json');
    expect(existsSync(path.join(project, 'node_modules/slipway/dist/slipway.schema.json'))).toBe(true);

    const validate = slipway(['validate']);
    expect(validate.code, validate.out).toBe(0);
    expect(validate.stdout).toMatch(/ok \(2 tasks\)/);

    const run = slipway(['run']);
    expect(run.code, run.out).toBe(0);
    expect(readFileSync(path.join(project, 'dist/out.txt'), 'utf8')).toBe('built\n');
    const again = slipway(['run', '--summary', 'summary.json']);
    expect(again.code, again.out).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(project, 'summary.json'), 'utf8')) as {
      tasks: { cache: string }[];
    };
    expect(summary.tasks.map((t) => t.cache)).toEqual(['hit-local', 'hit-local']);
  });

  it('without the SQLite binding: one line naming it, and --store postgres:// as the way out', async () => {
    rmSync(path.join(project, BINDING));
    const r = slipway(['run']);
    expect(r.code, r.out).toBe(2);
    expect(r.stderr).toMatch(/^error: the SQLite history store needs better-sqlite3's native module/m);
    expect(r.stderr).toMatch(/hint: .*--store postgres:\/\//);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);

    const url = await postgres();
    if (url) {
      const pg = slipway(['run', '--store', url]);
      expect(pg.code, pg.out).toBe(0);
    }

    // pg is optional: without it, a PostgreSQL store is one line naming the package.
    rmSync(path.join(project, 'node_modules/pg'), { recursive: true, force: true });
    const nopg = slipway(['history', '--store', 'postgres://127.0.0.1:1/none']);
    expect(nopg.code, nopg.out).toBe(2);
    expect(nopg.stderr).toMatch(
      /^error: a PostgreSQL store needs the "pg" package, which is not installed$/m,
    );
    expect(nopg.stderr).toMatch(/hint: install it next to slipway \(npm install pg\)/);
    expect(nopg.stderr).not.toMatch(STACK_FRAME);
  });
});
