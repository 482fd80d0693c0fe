/**
 * The cache bench's repository: an npm workspace of N packages in layers (each package depends on
 * two of the layer below), `files` source files each, a `build` script that writes dist/, a
 * turbo.json and a slipway.yml that describe the same task, committed to git (both tools hash
 * clean files through git).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../src/analyze/random.js';

export interface CacheRepoSpec {
  packages: number;
  files: number;
  layers: number;
  npmVersion: string;
}

export interface CacheRepo {
  dir: string;
  names: string[];
  /** A package with few dependents: the one-file change goes here. */
  editTarget: string;
  /** How many tasks the edit reruns (itself and its transitive dependents). */
  affected: number;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Writes the repository into a new temporary folder and commits it. */
export function writeCacheRepo(spec: CacheRepoSpec): CacheRepo {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-cache-'));
  const rand = mulberry32(1234);
  const perLayer = Math.ceil(spec.packages / spec.layers);
  const names: string[] = [];
  const deps = new Map<string, string[]>();
  for (let i = 0; i < spec.packages; i++) {
    const name = `pkg-${String(i).padStart(3, '0')}`;
    const layer = Math.floor(i / perLayer);
    const below = names.slice(Math.max(0, (layer - 1) * perLayer), layer * perLayer);
    const ds = new Set<string>();
    while (below.length && ds.size < Math.min(2, below.length))
      ds.add(below[Math.floor(rand() * below.length)] as string);
    deps.set(name, [...ds].sort());
    names.push(name);
  }

  writeFileSync(
    join(dir, 'package.json'),
    json({
      name: 'bench-cache',
      private: true,
      workspaces: ['packages/*'],
      packageManager: `npm@${spec.npmVersion}`,
    }),
  );
  const lock: Record<string, unknown> = { '': { name: 'bench-cache', workspaces: ['packages/*'] } };
  for (const n of names) {
    const d = deps.get(n) ?? [];
    lock[`node_modules/${n}`] = { resolved: `packages/${n}`, link: true };
    lock[`packages/${n}`] = {
      version: '1.0.0',
      ...(d.length ? { dependencies: Object.fromEntries(d.map((x) => [x, '1.0.0'])) } : {}),
    };
  }
  writeFileSync(
    join(dir, 'package-lock.json'),
    json({ name: 'bench-cache', lockfileVersion: 3, requires: true, packages: lock }),
  );
  writeFileSync(
    join(dir, 'turbo.json'),
    json({
      $schema: 'https://turborepo.com/schema.json',
      tasks: { build: { dependsOn: ['^build'], outputs: ['dist/**'] } },
    }),
  );
  writeFileSync(
    join(dir, 'slipway.yml'),
    [
      'version: 1',
      'name: bench-cache',
      'workspaces:',
      '  tasks:',
      '    build:',
      '      needs: ["^build"]',
      '      outputs: ["dist/**"]',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, '.gitignore'), 'node_modules/\ndist/\n.turbo/\n.slipway/\n');
  for (const n of names) {
    const pdir = join(dir, 'packages', n);
    mkdirSync(join(pdir, 'src'), { recursive: true });
    const d = deps.get(n) ?? [];
    writeFileSync(
      join(pdir, 'package.json'),
      json({
        name: n,
        version: '1.0.0',
        private: true,
        scripts: {
          build: 'mkdir -p dist && cp src/*.js dist/ && cat src/*.js > dist/index.js && echo built',
        },
        dependencies: Object.fromEntries(d.map((x) => [x, '1.0.0'])),
      }),
    );
    for (let f = 0; f < spec.files; f++) {
      const body = `// ${n} file ${f}\n${d.map((x) => `import '${x}';`).join('\n')}\nexport const v${f} = ${Math.floor(rand() * 1e9)};\n`;
      writeFileSync(join(pdir, 'src', `f${String(f).padStart(2, '0')}.js`), body.repeat(8));
    }
  }
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, stdio: 'pipe' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.email=bench@example.test', '-c', 'user.name=bench', 'commit', '-qm', 'bench');

  // The edit target: a package in the second-to-last layer (a few dependents, like most edits).
  const dependents = new Map<string, string[]>();
  for (const [n, ds] of deps) for (const d of ds) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  const layerStart = Math.max(0, (spec.layers - 2) * perLayer);
  const editTarget = names[Math.min(layerStart, names.length - 1)] as string;
  const seen = new Set([editTarget]);
  const stack = [editTarget];
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    for (const m of dependents.get(n) ?? []) if (!seen.has(m)) seen.add(m) && stack.push(m);
  }
  return { dir, names, editTarget, affected: seen.size };
}
