/**
 * Writes a bench graph as an npm-workspaces repository that Turborepo and Slipway both run:
 * packages/<name>/package.json with a sleeping `build` script and workspace dependencies, a root
 * package.json + package-lock.json (so turbo reads the same graph npm would), turbo.json, and a
 * slipway.yml with one task per package whose `needs:` mirror the dependencies.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchGraph } from './graph.js';

/** The build script: a sleep of exactly the package's duration (no CPU, so cores do not skew it). */
function sleepScript(ms: number): string {
  return `sleep ${(ms / 1000).toFixed(3)}`;
}

/** Creates the repository in a fresh temporary folder and returns its path. */
export async function writeWorkspace(graph: BenchGraph, npmVersion: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `slipway-bench-${graph.shape}-`));
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(
    join(dir, 'package.json'),
    json({
      name: `bench-${graph.shape}`,
      private: true,
      workspaces: ['packages/*'],
      packageManager: `npm@${npmVersion}`,
    }),
  );
  // Turbo reads the lockfile to resolve workspace links; writing it ourselves avoids running npm.
  const lock: Record<string, unknown> = {
    '': { name: `bench-${graph.shape}`, workspaces: ['packages/*'] },
  };
  for (const p of graph.packages) {
    lock[`node_modules/${p.name}`] = { resolved: `packages/${p.name}`, link: true };
    lock[`packages/${p.name}`] = p.deps.length
      ? { version: '1.0.0', dependencies: Object.fromEntries(p.deps.map((d) => [d, '1.0.0'])) }
      : { version: '1.0.0' };
  }
  await writeFile(
    join(dir, 'package-lock.json'),
    json({ name: `bench-${graph.shape}`, lockfileVersion: 3, requires: true, packages: lock }),
  );
  await writeFile(
    join(dir, 'turbo.json'),
    json({
      $schema: 'https://turborepo.com/schema.json',
      tasks: { build: { dependsOn: ['^build'], cache: false } },
    }),
  );
  for (const p of graph.packages) {
    await mkdir(join(dir, 'packages', p.name), { recursive: true });
    await writeFile(
      join(dir, 'packages', p.name, 'package.json'),
      json({
        name: p.name,
        version: '1.0.0',
        private: true,
        scripts: { build: sleepScript(p.durationMs) },
        dependencies: Object.fromEntries(p.deps.map((d) => [d, '1.0.0'])),
      }),
    );
  }
  await writeFile(join(dir, 'slipway.yml'), slipwayYaml(graph));
  return dir;
}

/** One task per package running the same `npm run build` turbo runs, so both pay the same per-task cost. */
function slipwayYaml(graph: BenchGraph): string {
  const lines = ['version: 1', `name: bench-${graph.shape}`, 'tasks:'];
  for (const p of graph.packages) {
    lines.push(`  ${p.name}:`);
    lines.push('    run: npm run build');
    lines.push(`    cwd: packages/${p.name}`);
    lines.push(`    needs: [${p.deps.join(', ')}]`);
    lines.push('    inputs: [package.json]');
    lines.push('    cache: false');
  }
  return `${lines.join('\n')}\n`;
}
