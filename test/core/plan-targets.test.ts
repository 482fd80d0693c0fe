/**
 * One target resolver for run, plan, graph and why (workspace template names, `pkg#task`,
 * `--filter`, "did you mean"), and `plan` saying what `run` will do: each task `hit`, `miss` or
 * `run`, predicted only for what runs, found without writing anything.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSummary, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';
import { readLedger } from '../helpers/ledger.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

const YML = `version: 1
workspaces:
  tasks:
    build:
      needs: ["^build"]
      outputs: ["dist/**"]
    test:
      run: echo testing
      needs: [build]
tasks:
  deploy:
    run: echo deploying
    needs: ["@x/c#build"]
    cache: false
`;

/** Packages a <- b <- c (b depends on a, c on b); d has no build script. A committed git repository. */
function monorepo(): Workspace {
  const w = workspace(YML);
  made.push(w);
  w.write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
  const pkg = (name: string, deps: Record<string, string>, build = true) =>
    w.write(
      `packages/${name}/package.json`,
      JSON.stringify({
        name: `@x/${name}`,
        dependencies: deps,
        scripts: build ? { build: `mkdir -p dist && cat src/* > dist/out.txt` } : {},
      }),
    );
  pkg('a', {});
  pkg('b', { '@x/a': '*' });
  pkg('c', { '@x/b': '*' });
  pkg('d', {}, false);
  for (const n of ['a', 'b', 'c', 'd']) w.write(`packages/${n}/src/index.js`, `${n}\n`);
  w.write('.gitignore', 'dist/\n.slipway/\n*.json\n!package.json\n');
  const g = (...a: string[]) => execFileSync('git', a, { cwd: w.dir, stdio: 'pipe' });
  g('init', '-q');
  g('add', '-A');
  g('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init');
  return w;
}

interface PlanJson {
  cache: { hit: number; miss: number; run: number };
  predictedMakespanMs: number;
  criticalPath: string[];
  tasks: {
    order: number;
    id: string;
    cache: 'hit' | 'miss' | 'run';
    cacheSource?: 'in-place' | 'local';
    startMs: number;
    endMs: number;
    durationMs: number;
  }[];
}

async function planJson(w: Workspace, args: string[] = []): Promise<PlanJson> {
  const r = await w.run(['plan', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

const marks = (p: PlanJson) => Object.fromEntries(p.tasks.map((t) => [t.id, t.cache]));
const sorted = (xs: readonly string[]) => [...xs].sort();

/**
 * Every file under `.slipway/` with its size and mtime, except SQLite's -wal/-shm files (closing
 * the store tidies them); the ledger by its content without the pipeline snapshot (a load cache
 * every command shares).
 */
function stateFiles(w: Workspace): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (n === 'ledger') {
        const { sections, list, text } = readLedger(w.dir);
        delete sections.pipeline;
        if (Object.keys(sections).length || list || text)
          out.set(path.relative(w.dir, p), JSON.stringify([sections, list, text]));
      } else if (!/^history\.db-/.test(n)) out.set(path.relative(w.dir, p), `${st.size} ${st.mtimeMs}`);
    }
  };
  walk(w.path('.slipway'));
  return out;
}

const BUILDS = ['@x/a#build', '@x/b#build', '@x/c#build'];

describe('one target resolver', () => {
  it('a workspace template name means every package’s task, for plan, graph, why and run', async () => {
    const w = monorepo();
    const p = await planJson(w, ['build']);
    expect(sorted(p.tasks.map((t) => t.id))).toEqual(BUILDS);
    const g = await w.run(['graph', 'build', '--format', 'json']);
    expect(g.code, g.stderr).toBe(0);
    expect(sorted((JSON.parse(g.stdout) as { nodes: string[] }).nodes)).toEqual(BUILDS);
    const r = await w.run(['run', 'build', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(sorted(readSummary(w).tasks.map((t) => t.id))).toEqual(BUILDS);
    // A task id gives one explanation; a template name one per task it stands for.
    const one = await w.run(['why', '@x/b#build', '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect((JSON.parse(one.stdout) as { task: string }).task).toBe('@x/b#build');
    const all = await w.run(['why', 'build', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(sorted((JSON.parse(all.stdout) as { task: string }[]).map((x) => x.task))).toEqual(BUILDS);
  });

  it('--filter selects packages for plan, graph and why as it does for run', async () => {
    const w = monorepo();
    const p = await planJson(w, ['build', '--filter', '@x/b']);
    expect(sorted(p.tasks.map((t) => t.id))).toEqual(['@x/a#build', '@x/b#build']);
    const dependents = await planJson(w, ['build', '--filter', '...@x/b']);
    expect(sorted(dependents.tasks.map((t) => t.id))).toEqual(BUILDS);
    const g = await w.run(['graph', '--filter', '@x/c', '--format', 'json']);
    expect(g.code, g.stderr).toBe(0);
    expect(sorted((JSON.parse(g.stdout) as { nodes: string[] }).nodes)).toEqual([...BUILDS, '@x/c#test']);
    const why = await w.run(['why', 'build', '--filter', '@x/a', '--json']);
    expect(why.code, why.stderr).toBe(0);
    expect((JSON.parse(why.stdout) as { task: string }[]).map((x) => x.task)).toEqual(['@x/a#build']);
    const none = await w.run(['plan', '--filter', '@x/nope']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--filter "@x\/nope" matches no workspace package/);
  });

  it.each([
    ['run', 'biuld', 'build'],
    ['plan', 'biuld', 'build'],
    ['graph', 'biuld', 'build'],
    ['why', 'biuld', 'build'],
    ['plan', '@x/a#biuld', '@x/a#build'],
    ['why', 'deplyo', 'deploy'],
  ])('%s %s is an unknown task with "did you mean" (exit 2, nothing run)', async (cmd, name, guess) => {
    const w = monorepo();
    const r = await w.run([cmd, name]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: unknown task "${name}"`);
    expect(r.stderr).toContain(`hint: did you mean "${guess}"?`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(w.exists('packages/a/dist')).toBe(false);
  });

  it('an unknown task with no near name lists the tasks and templates', async () => {
    const w = monorepo();
    const r = await w.run(['graph', 'zzzzzzzz']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hint: tasks: .*deploy.*; workspace templates: build, test/);
  });
});

describe('slipway plan says what run will do', () => {
  it('marks hit, miss and run; after a cached run all hit and the prediction is 0; an edit misses that task and its dependents', async () => {
    const w = monorepo();
    const fresh = await planJson(w);
    expect(fresh.cache).toEqual({ hit: 0, miss: 7, run: 1 });
    expect(marks(fresh).deploy).toBe('run');
    expect(fresh.predictedMakespanMs).toBeGreaterThan(0);
    // Read-only: no history store, no cache entries, no state files.
    expect(stateFiles(w).size).toBe(0);

    const first = await w.run(['run', '--summary', 'summary.json']);
    expect(first.code, first.stderr).toBe(0);

    // Everything cacheable is in place: all hit, nothing predicted but the uncached task.
    const cached = await planJson(w, ['build', 'test']);
    expect(cached.cache).toEqual({ hit: 7, miss: 0, run: 0 });
    expect(cached.tasks.every((t) => t.cacheSource === 'in-place')).toBe(true);
    expect(cached.predictedMakespanMs).toBe(0);
    expect(cached.criticalPath).toEqual([]);
    for (const t of cached.tasks) expect([t.startMs, t.endMs, t.durationMs]).toEqual([0, 0, 0]);
    const text = await w.run(['plan', 'build']);
    expect(text.stdout).toMatch(/Predicted makespan 0ms: every task is a cache hit/);
    expect(text.stdout).toMatch(/^\s+1\s+@x\/a#build\s+hit\b/m);

    // Deleted outputs restorable from the local cache are hits too (from the cache, not in place).
    const before = stateFiles(w);
    w.write('packages/b/src/index.js', 'b2\n');
    execFileSync('rm', ['-rf', w.path('packages/a/dist')]);
    const edited = await planJson(w);
    expect(marks(edited)).toEqual({
      '@x/a#build': 'hit',
      '@x/a#test': 'hit',
      '@x/b#build': 'miss',
      '@x/b#test': 'miss',
      '@x/c#build': 'miss',
      '@x/c#test': 'miss',
      '@x/d#test': 'hit',
      deploy: 'run',
    });
    expect(edited.tasks.find((t) => t.id === '@x/a#build')?.cacheSource).toBe('local');
    // Hits come first; the schedule covers only what runs, dependencies before dependents.
    expect(edited.tasks.slice(0, 3).every((t) => t.cache === 'hit')).toBe(true);
    const at = new Map(edited.tasks.map((t) => [t.id, t]));
    expect(at.get('@x/c#build')!.startMs).toBeGreaterThanOrEqual(at.get('@x/b#build')!.endMs);
    expect(edited.predictedMakespanMs).toBeGreaterThan(0);
    // plan wrote nothing: no restore, no manifest, no entry, no state.
    expect(w.exists('packages/a/dist')).toBe(false);
    expect(stateFiles(w)).toEqual(before);

    // And the run does exactly what the plan said.
    const r = await w.run(['run', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const asRun = Object.fromEntries(
      readSummary(w).tasks.map((t) => [
        t.id,
        t.cache === 'hit-local' ? 'hit' : t.cache === 'disabled' ? 'run' : t.cache,
      ]),
    );
    expect(asRun).toEqual(marks(edited));
  });

  it('--no-cache marks every task run', async () => {
    const w = monorepo();
    const p = await planJson(w, ['--no-cache', 'build']);
    expect(p.cache).toEqual({ hit: 0, miss: 0, run: 3 });
  });
});
