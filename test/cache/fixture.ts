/** A small git repository with three cacheable tasks and one side effect, shared by cache tests. */
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { pipelineYaml, readSummary, type Workspace, workspace } from '../helpers/cli.js';

/** lib builds dist/ (an executable, a symlink, a nested file); app copies lib's output; other is independent. */
export const TASKS = {
  lib: {
    run: [
      'mkdir -p dist/sub',
      'cat src/*.js > dist/lib.js',
      'printf "#!/bin/sh\\necho hi\\n" > dist/run.sh && chmod 750 dist/run.sh',
      'ln -sf lib.js dist/current.js',
      'echo nested > dist/sub/n.txt && chmod 600 dist/sub/n.txt',
      'sleep 0.05',
      'echo built lib',
    ].join(' && '),
    cwd: 'lib',
    outputs: ['dist/**'],
  },
  app: {
    run: 'mkdir -p dist && cat src/main.js ../lib/dist/lib.js > dist/app.js && echo built app',
    cwd: 'app',
    needs: ['lib'],
    outputs: ['dist/**'],
  },
  other: {
    run: 'mkdir -p out && echo other > out/o.txt && echo built other',
    cwd: 'other',
    outputs: ['out/**'],
  },
  notify: { run: 'echo notified >> ../notified.txt', cwd: 'app', needs: ['app'], cache: false },
};

export function gitRepo(w: Workspace): void {
  const g = (...a: string[]) => execFileSync('git', a, { cwd: w.dir, stdio: 'pipe' });
  g('init', '-q');
  g('add', '-A');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
}

/** A fresh fixture repository (committed), optionally with extra top-level pipeline keys. */
export function fixture(top: Record<string, unknown> = {}): Workspace {
  const w = workspace(pipelineYaml(TASKS, top));
  try {
    w.write('.gitignore', 'dist/\nout/\n.slipway/\n*.json\nnotified.txt\n');
    w.write('lib/src/a.js', 'export const a = 1;\n');
    w.write('lib/src/b.js', 'export const b = 2;\n');
    w.write('app/src/main.js', 'import "lib";\n');
    w.write('other/src/o.js', 'o\n');
    gitRepo(w);
  } catch (e) {
    // Not handed to the caller, so nobody else would remove it.
    w.cleanup();
    throw e;
  }
  return w;
}

/** Runs `slipway run` with a summary; returns cache outcome per task and the CLI result. */
export async function runWithSummary(
  w: Workspace,
  args: string[] = [],
  env?: Record<string, string | undefined>,
) {
  const r = await w.run(['run', '--summary', 'summary.json', ...args], { env });
  const s = readSummary(w);
  const cache = Object.fromEntries(s.tasks.map((t) => [t.id, t.cache]));
  return { r, s, cache, output: r.stdout + r.stderr };
}

/** Every entry under `dir` with its kind, mode and content (or link target), for exact comparisons. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, p);
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[p] = `link -> ${readlinkSync(abs)}`;
      else if (st.isDirectory()) {
        out[p] = `dir ${mode}`;
        visit(p);
      } else out[p] = `file ${mode} ${readFileSync(abs).toString('base64')}`;
    }
  };
  visit('');
  return out;
}
