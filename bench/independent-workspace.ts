/**
 * A second, independently shaped npm workspace for the fully cached comparison, so the target is
 * not met only on the repository the cache was tuned on: scoped packages in two globs
 * (`apps/*`, `libs/<domain>/*`), an uneven number of files per package in nested folders, a
 * random dependency DAG (not layers), a build that copies a tree into dist/ and also writes a
 * second output folder (types/), plus a README and a tsconfig.json in every package. Committed to
 * git, with one untracked file in the tree, as a working checkout usually has.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/analyze/random.js';
import type { CacheRepo } from './cache-workspace.js';

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const DOMAINS = ['core', 'data', 'ui', 'net', 'auth', 'billing', 'search', 'infra'];

/** Writes `packages` packages into a new temporary folder and commits them. */
export function writeIndependentRepo(spec: { packages: number; npmVersion: string }): CacheRepo {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-indep-'));
  const rand = mulberry32(20261205);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const apps = Math.max(1, Math.round(spec.packages / 20));
  const pkgs: { name: string; rel: string; deps: string[] }[] = [];
  for (let i = 0; i < spec.packages; i++) {
    const isApp = i >= spec.packages - apps;
    const domain = pick(DOMAINS);
    const base = isApp ? `app-${i}` : `${domain}-${i.toString(36)}`;
    const rel = isApp ? `apps/${base}` : `libs/${domain}/${base}`;
    // Up to four dependencies anywhere earlier (apps up to eight): a DAG, not layers.
    const deps = new Set<string>();
    const want = i === 0 ? 0 : Math.floor(rand() * (isApp ? 9 : 5));
    for (let k = 0; k < want; k++) deps.add(pkgs[Math.floor(rand() * i)]!.name);
    pkgs.push({ name: `@indep/${base}`, rel, deps: [...deps].sort() });
  }

  writeFileSync(
    join(dir, 'package.json'),
    json({
      name: 'indep-monorepo',
      private: true,
      workspaces: ['apps/*', 'libs/*/*'],
      packageManager: `npm@${spec.npmVersion}`,
    }),
  );
  const lock: Record<string, unknown> = {
    '': { name: 'indep-monorepo', workspaces: ['apps/*', 'libs/*/*'] },
  };
  for (const p of pkgs) {
    lock[`node_modules/${p.name}`] = { resolved: p.rel, link: true };
    lock[p.rel] = {
      name: p.name,
      version: '0.0.0',
      ...(p.deps.length ? { dependencies: Object.fromEntries(p.deps.map((d) => [d, '*'])) } : {}),
    };
  }
  writeFileSync(
    join(dir, 'package-lock.json'),
    json({ name: 'indep-monorepo', lockfileVersion: 3, requires: true, packages: lock }),
  );
  writeFileSync(
    join(dir, 'turbo.json'),
    json({ tasks: { build: { dependsOn: ['^build'], outputs: ['dist/**', 'types/**'] } } }),
  );
  writeFileSync(
    join(dir, 'slipway.yml'),
    'version: 1\nname: indep\nworkspaces:\n  tasks:\n    build:\n      needs: ["^build"]\n      outputs: ["dist/**", "types/**"]\n',
  );
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\ndist/\ntypes/\n.turbo/\n.slipway/\n');
  for (const p of pkgs) {
    const pdir = join(dir, p.rel);
    const files = 4 + Math.floor(rand() * 30);
    for (let f = 0; f < files; f++) {
      const sub = pick(['src', 'src', 'src/util', 'src/components', 'src/model/v1']);
      mkdirSync(join(pdir, sub), { recursive: true });
      const body = `${p.deps.map((d) => `import '${d}';`).join('\n')}\nexport const k${f} = ${Math.floor(rand() * 1e9)};\n`;
      writeFileSync(join(pdir, sub, `m${f}.ts`), body.repeat(1 + Math.floor(rand() * 12)));
    }
    writeFileSync(
      join(pdir, 'package.json'),
      json({
        name: p.name,
        version: '0.0.0',
        private: true,
        scripts: {
          build: 'rm -rf dist types && cp -r src dist && mkdir types && ls -R src > types/index.d.ts',
        },
        dependencies: Object.fromEntries(p.deps.map((d) => [d, '*'])),
      }),
    );
    writeFileSync(join(pdir, 'README.md'), `# ${p.name}\n`);
    writeFileSync(join(pdir, 'tsconfig.json'), json({ compilerOptions: { strict: true, outDir: 'dist' } }));
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=bench@example.test', '-c', 'user.name=bench', 'commit', '-qm', 'independent');
  writeFileSync(join(dir, 'NOTES.local.md'), 'an untracked file\n');
  const last = pkgs[pkgs.length - 1]!;
  return { dir, names: pkgs.map((p) => p.name), editTarget: last.rel, affected: 1 };
}
