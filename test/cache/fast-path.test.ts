/**
 * The fast path of a repeated `slipway run`, end to end through the built CLI:
 * - the pipeline snapshot (the `pipeline` section of `.slipway/ledger`) is reused only while
 *   slipway.yml, every workspace package.json and the listed folders are unchanged;
 * - the output records (the ledger's `outputs` section) make untouched outputs a hit without a
 *   restore, and anything touched (content, stray files, modes) is restored exactly;
 * - tasks whose outputs are in place are settled before planning and predicted at 0 ms.
 */
import { chmodSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineYaml, readSummary, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';
import { LEDGER, readLedger, writeLedger } from '../helpers/ledger.js';
import { fixture, gitRepo, runWithSummary, snapshotTree, TASKS } from './fixture.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});
const keep = (w: Workspace): Workspace => {
  made.push(w);
  return w;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const snapshotOf = (w: Workspace) =>
  readLedger(w.dir).sections.pipeline as
    | { format: number; pipeline: { tasks: { id: string; run: string }[] } }
    | undefined;

/** Runs `slipway run` (extra args first) and returns cache outcome per task id, and the output. */
async function run(w: Workspace, ...args: string[]) {
  const r = await w.run([...args, 'run', '--summary', 'summary.json']);
  const output = r.stdout + r.stderr;
  expect(r.code, output).toBe(0);
  expect(output).not.toMatch(STACK_FRAME);
  const s = readSummary(w);
  return { s, output, cache: Object.fromEntries(s.tasks.map((t) => [t.id, t.cache])) };
}

// ---------------------------------------------------------------------------------------------
// Pipeline snapshot
// ---------------------------------------------------------------------------------------------

const WS_YML = `version: 1
workspaces:
  tasks:
    build:
      needs: ["^build"]
      outputs: ["dist/**"]
`;

const script = (name: string, version: string) =>
  `mkdir -p dist && echo ${name}-${version} > dist/out.txt && echo built-${name}-${version}`;

function writePackage(w: Workspace, name: string, deps: string[], build?: string): void {
  w.write(
    `packages/${name}/package.json`,
    JSON.stringify({
      name: `@x/${name}`,
      version: '1.0.0',
      dependencies: Object.fromEntries(deps.map((d) => [`@x/${d}`, '*'])),
      scripts: build ? { build } : {},
    }),
  );
}

/**
 * An npm workspace: @x/b depends on @x/a, both build with their package.json script; @x/d has
 * no build script; `other.yml` is a second pipeline file in the same folder. Committed to git.
 */
function monorepo(): Workspace {
  const w = keep(workspace(WS_YML));
  w.write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
  writePackage(w, 'a', [], script('a', 'v1'));
  writePackage(w, 'b', ['a'], script('b', 'v1'));
  writePackage(w, 'd', []);
  for (const n of ['a', 'b', 'd']) w.write(`packages/${n}/src/index.js`, `${n}\n`);
  w.pipeline(pipelineYaml({ solo: { run: 'echo solo-from-other-yml' } }), 'other.yml');
  w.write('.gitignore', 'dist/\n.slipway/\n*.json\n!package.json\n');
  gitRepo(w);
  return w;
}

const BUILDS = ['@x/a#build', '@x/b#build'];

describe('pipeline snapshot', () => {
  const names = ['reuse', 'script', 'noScript', 'addScript', 'folder', 'yml', 'foreign'] as const;
  const ws = {} as Record<(typeof names)[number], Workspace>;

  beforeAll(async () => {
    for (const k of names) ws[k] = monorepo();
    // A first run in each: builds, and creates .slipway/ and summary.json in the root folder.
    await Promise.all(Object.values(ws).map((w) => run(w)));
    // The snapshot is not written while anything it depends on changed in the racy window
    // (state/racy.ts); let every file and folder of the workspaces age past that.
    await sleep(2100);
  });

  /** A run with nothing changed writes the snapshot (nothing it depends on is recent any more). */
  async function withSnapshot(w: Workspace, tasks = BUILDS) {
    const l = readLedger(w.dir);
    delete l.sections.pipeline;
    writeLedger(w.dir, l);
    const r = await run(w);
    expect(Object.keys(r.cache).sort()).toEqual(tasks);
    expect(snapshotOf(w), 'the unchanged run wrote a snapshot').toBeDefined();
    return r;
  }

  const ident = (w: Workspace) => {
    const st = statSync(w.path(LEDGER));
    return `${st.ino} ${st.mtimeMs}`;
  };

  it('is reused while nothing changed, and keeps --filter working', async () => {
    const w = ws.reuse;
    await withSnapshot(w);
    const before = ident(w);
    const again = await run(w);
    expect(again.cache).toEqual({ '@x/a#build': 'hit-local', '@x/b#build': 'hit-local' });
    const filtered = await w.run(['run', '--filter', '@x/a', '--summary', 'summary.json']);
    expect(filtered.code, filtered.stdout + filtered.stderr).toBe(0);
    expect(readSummary(w).tasks.map((t) => t.id)).toEqual(['@x/a#build']);
    // Not loaded again, so not written again.
    expect(ident(w)).toBe(before);
  });

  it('is not used for another pipeline file in the same folder', async () => {
    const w = ws.reuse;
    await withSnapshot(w);
    const other = await run(w, '-f', 'other.yml');
    expect(Object.keys(other.cache)).toEqual(['solo']);
    expect(other.output).toContain('solo-from-other-yml');
    const back = await run(w);
    expect(Object.keys(back.cache).sort()).toEqual(BUILDS);
  });

  it("sees a package's edited build script: the task reruns with the new command", async () => {
    const w = ws.script;
    await withSnapshot(w);
    writePackage(w, 'a', [], script('a', 'v2'));
    const r = await run(w);
    expect(r.cache['@x/a#build']).toBe('miss');
    expect(r.output).toContain('built-a-v2');
    expect(r.output).not.toContain('built-a-v1');
    expect(w.read('packages/a/dist/out.txt')).toBe('a-v2\n');
  });

  it('sees a build script removed from a package.json: its task is gone', async () => {
    const w = ws.noScript;
    await withSnapshot(w);
    writePackage(w, 'b', ['a']);
    const removed = await run(w);
    expect(removed.cache).toEqual({ '@x/a#build': 'hit-local' });
  });

  it('sees a build script added to a package.json: its task appears', async () => {
    const w = ws.addScript;
    await withSnapshot(w);
    writePackage(w, 'd', ['a'], script('d', 'v1'));
    const added = await run(w);
    expect(added.cache).toEqual({
      '@x/a#build': 'hit-local',
      '@x/b#build': 'hit-local',
      '@x/d#build': 'miss',
    });
    expect(w.read('packages/d/dist/out.txt')).toBe('d-v1\n');
  });

  it('sees a new package folder with a package.json', async () => {
    const w = ws.folder;
    await withSnapshot(w);
    writePackage(w, 'e', ['b'], script('e', 'v1'));
    w.write('packages/e/src/index.js', 'e\n');
    const r = await run(w);
    expect(r.cache).toEqual({ '@x/a#build': 'hit-local', '@x/b#build': 'hit-local', '@x/e#build': 'miss' });
    expect(r.output).toContain('built-e-v1');
    expect(w.read('packages/e/dist/out.txt')).toBe('e-v1\n');
  });

  it('sees an edited slipway.yml (run and plan)', async () => {
    const w = ws.yml;
    await withSnapshot(w);
    w.pipeline(`${WS_YML}tasks:\n  extra:\n    run: echo extra-task-ran\n`);
    const r = await run(w);
    expect(Object.keys(r.cache).sort()).toEqual([...BUILDS, 'extra'].sort());
    expect(r.output).toContain('extra-task-ran');
    const plan = await w.run(['plan']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/\bextra\b/);
  });

  it('ignores a damaged snapshot or one from another build or format', async () => {
    const w = ws.foreign;
    await withSnapshot(w);
    const good = readLedger(w.dir);
    // Stale content a wrongly trusted snapshot would give away: another command per task.
    const stale = structuredClone(good);
    const snap = stale.sections.pipeline as NonNullable<ReturnType<typeof snapshotOf>>;
    for (const t of snap.pipeline.tasks) t.run = 'echo STALE-SNAPSHOT-USED';
    const damaged: [string, () => void][] = [
      ['not a ledger', () => writeFileSync(w.path(LEDGER), 'not json {')],
      [
        'another build',
        () =>
          writeLedger(w.dir, {
            ...stale,
            sections: { ...stale.sections, pipeline: { ...snap, build: 'another build' } },
          }),
      ],
      ['another ledger version', () => writeLedger(w.dir, { ...stale, head: { ...stale.head, v: 999 } })],
      [
        'another snapshot format',
        () =>
          writeLedger(w.dir, {
            ...stale,
            sections: { ...stale.sections, pipeline: { ...snap, format: 999 } },
          }),
      ],
    ];
    for (const [what, damage] of damaged) {
      damage();
      const r = await run(w);
      // Outputs are never wrong either: whatever the ledger lost is restored from the cache.
      expect(r.cache, what).toEqual({ '@x/a#build': 'hit-local', '@x/b#build': 'hit-local' });
      expect(r.output, what).not.toContain('STALE-SNAPSHOT-USED');
      // Loaded in full, so written afresh (nothing is recent), in this build's format.
      expect(snapshotOf(w)?.format, what).toBe((good.sections.pipeline as { format: number }).format);
      expect(w.read(LEDGER), what).not.toContain('STALE-SNAPSHOT-USED');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Output state
// ---------------------------------------------------------------------------------------------

/** Inode and mtime of every output entry: unchanged means nothing was restored. */
function identities(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path.join(dir, p), { bigint: true });
      out[p] = `${st.ino} ${st.mtimeNs}`;
      if (st.isDirectory()) visit(p);
    }
  };
  visit('');
  return out;
}

const OUT_DIRS = ['lib/dist', 'app/dist', 'other/out'];
const trees = (w: Workspace) => Object.fromEntries(OUT_DIRS.map((d) => [d, snapshotTree(w.path(d))]));
const ALL_HITS = { lib: 'hit-local', app: 'hit-local', other: 'hit-local', notify: 'disabled' };

describe('output state', () => {
  /** A fixture repository after a first (building) run, with its output trees. */
  async function built() {
    const w = keep(fixture());
    const first = await runWithSummary(w);
    expect(first.r.code, first.output).toBe(0);
    expect(first.cache).toMatchObject({ lib: 'miss', app: 'miss', other: 'miss' });
    return { w, before: trees(w) };
  }

  it('leaves untouched outputs alone on a cached run: a hit without a restore', async () => {
    const { w, before } = await built();
    const ids = Object.fromEntries(OUT_DIRS.map((d) => [d, identities(w.path(d))]));
    const r = await runWithSummary(w, ['--output-logs=full']);
    expect(r.cache).toEqual(ALL_HITS);
    expect(r.output).toContain('built lib'); // the log is still replayed
    expect(trees(w)).toEqual(before);
    expect(Object.fromEntries(OUT_DIRS.map((d) => [d, identities(w.path(d))]))).toEqual(ids);
  });

  it('restores an output file modified in place, same size, byte for byte', async () => {
    const { w, before } = await built();
    const file = w.path('lib/dist/lib.js');
    const original = readFileSync(file);
    const tampered = Buffer.from(original);
    tampered[tampered.indexOf('1')] = '9'.charCodeAt(0);
    expect(tampered.length).toBe(original.length);
    const ino = statSync(file).ino;
    writeFileSync(file, tampered);
    expect(statSync(file).ino).toBe(ino); // rewritten in place, same size

    const r = await runWithSummary(w);
    expect(r.cache).toEqual(ALL_HITS);
    expect(readFileSync(file)).toEqual(original);
    expect(trees(w)).toEqual(before);
    // And the restored state is recorded: the next run is a plain in-place hit.
    const ids = identities(w.path('lib/dist'));
    expect((await runWithSummary(w)).cache).toEqual(ALL_HITS);
    expect(identities(w.path('lib/dist'))).toEqual(ids);
  });

  it('removes stray files added inside output folders', async () => {
    const { w, before } = await built();
    writeFileSync(w.path('lib/dist/sub/stray.txt'), 'not an output of this hash');
    writeFileSync(w.path('other/out/stray.txt'), 'left over');
    const r = await runWithSummary(w);
    expect(r.cache).toEqual(ALL_HITS);
    expect(w.exists('lib/dist/sub/stray.txt')).toBe(false);
    expect(w.exists('other/out/stray.txt')).toBe(false);
    expect(trees(w)).toEqual(before);
  });

  it('restores the mode of a chmodded output file and folder', async () => {
    const { w, before } = await built();
    chmodSync(w.path('lib/dist/run.sh'), 0o644);
    chmodSync(w.path('lib/dist/sub/n.txt'), 0o666);
    chmodSync(w.path('other/out'), 0o700);
    const r = await runWithSummary(w);
    expect(r.cache).toEqual(ALL_HITS);
    expect(trees(w)).toEqual(before);
    expect(statSync(w.path('lib/dist/run.sh')).mode & 0o777).toBe(0o750);
  });

  it('restores outputs that a deleted output folder or symlink took away', async () => {
    const { w, before } = await built();
    rmSync(w.path('lib/dist/current.js'));
    rmSync(w.path('other/out'), { recursive: true });
    const r = await runWithSummary(w);
    expect(r.cache).toEqual(ALL_HITS);
    expect(trees(w)).toEqual(before);
  });

  it('still hits, and still notices changes, when the start-up stat has no list to go on', async () => {
    const { w, before } = await built();
    const dropList = () => writeLedger(w.dir, { ...readLedger(w.dir), list: '' });
    expect(readLedger(w.dir).list).toContain(w.path('lib/dist'));

    dropList();
    const ids = identities(w.path('lib/dist'));
    const untouched = await runWithSummary(w);
    expect(untouched.cache).toEqual(ALL_HITS);
    expect(identities(w.path('lib/dist'))).toEqual(ids); // in place: not restored

    dropList();
    writeFileSync(w.path('lib/dist/sub/n.txt'), 'NESTED\n'); // same size as "nested\n"
    writeFileSync(w.path('app/dist/stray.txt'), 'x');
    const changed = await runWithSummary(w);
    expect(changed.cache).toEqual(ALL_HITS);
    expect(trees(w)).toEqual(before);
  });

  it('still hits with damaged output records', async () => {
    const { w, before } = await built();
    const l = readLedger(w.dir);
    const outputs = l.sections.outputs as { format: number };
    writeLedger(w.dir, {
      ...l,
      sections: { ...l.sections, outputs: { format: outputs.format, tasks: { lib: { at: [0, 99999] } } } },
      text: 'garbage',
    });
    writeFileSync(w.path('lib/dist/lib.js'), 'tampered');
    const r = await runWithSummary(w);
    expect(r.cache).toEqual(ALL_HITS);
    expect(trees(w)).toEqual(before);
  });

  // The outputs are stat-ed once, when the CLI starts; only lookups made before anything runs
  // may trust that. A task that runs first in the same run (here an uncached `clean` it needs)
  // can delete another task's outputs, which must then be restored, run after run.
  it('restores outputs that a task earlier in the same run deleted', async () => {
    const w = keep(
      workspace(
        pipelineYaml({
          clean: { run: 'rm -rf lib/dist', cache: false },
          lib: { ...TASKS.lib, needs: ['clean'] },
        }),
      ),
    );
    w.write('lib/src/a.js', 'export const a = 1;\n');
    w.write('.gitignore', 'dist/\n.slipway/\n*.json\n');
    gitRepo(w);
    for (let i = 0; i < 3; i++) {
      const r = await runWithSummary(w);
      expect(r.cache.lib).toBe(i === 0 ? 'miss' : 'hit-local');
      expect(w.exists('lib/dist/lib.js'), `lib/dist/lib.js after run ${i + 1}`).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Settled before planning, predicted at 0 ms
// ---------------------------------------------------------------------------------------------

/** lib <- app <- bundle, and other on its own; all cacheable. */
const CHAIN = {
  lib: TASKS.lib,
  app: TASKS.app,
  bundle: {
    run: 'mkdir -p pkg && cat dist/app.js > pkg/bundle.js && echo bundled',
    cwd: 'app',
    needs: ['app'],
    outputs: ['pkg/**'],
  },
  other: TASKS.other,
};

describe('in-place hits settled before planning', () => {
  function chain(): Workspace {
    const w = keep(workspace(pipelineYaml(CHAIN)));
    w.write('.gitignore', 'dist/\nout/\npkg/\n.slipway/\n*.json\n');
    w.write('lib/src/a.js', 'export const a = 1;\n');
    w.write('app/src/main.js', 'import "lib";\n');
    w.write('other/src/o.js', 'o\n');
    gitRepo(w);
    return w;
  }

  const outcomes = (s: ReturnType<typeof readSummary>) =>
    Object.fromEntries(s.tasks.map((t) => [t.id, t.cache]));

  it('a fully cached run has every task hit-local and predicted at 0 ms', async () => {
    const w = chain();
    const first = await run(w);
    expect(first.cache).toEqual({ lib: 'miss', app: 'miss', bundle: 'miss', other: 'miss' });
    expect(first.s.predictedMakespanMs).toBeGreaterThan(0);

    const second = await run(w);
    expect(outcomes(second.s)).toEqual({
      lib: 'hit-local',
      app: 'hit-local',
      bundle: 'hit-local',
      other: 'hit-local',
    });
    expect(second.s.predictedMakespanMs).toBe(0);
    for (const t of second.s.tasks) {
      expect(t.status, t.id).toBe('success');
      expect(t.predictedMs, t.id).toBe(0);
    }
    expect(w.read('app/pkg/bundle.js')).toBe('import "lib";\nexport const a = 1;\n');
  });

  it('after an input edit, exactly that task and its dependents miss; the rest stay settled', async () => {
    const w = chain();
    await run(w);

    w.write('lib/src/a.js', 'export const a = 2;\n');
    const libEdit = await run(w);
    expect(outcomes(libEdit.s)).toEqual({ lib: 'miss', app: 'miss', bundle: 'miss', other: 'hit-local' });
    expect(libEdit.s.byId.get('other')?.predictedMs).toBe(0);
    for (const id of ['lib', 'app', 'bundle'])
      expect(libEdit.s.byId.get(id)?.predictedMs, id).toBeGreaterThan(0);
    expect(libEdit.s.predictedMakespanMs).toBeGreaterThan(0);
    expect(w.read('app/pkg/bundle.js')).toContain('export const a = 2;');

    w.write('app/src/main.js', 'import "lib"; // edited\n');
    const appEdit = await run(w);
    expect(outcomes(appEdit.s)).toEqual({
      lib: 'hit-local',
      app: 'miss',
      bundle: 'miss',
      other: 'hit-local',
    });
    expect(appEdit.s.byId.get('lib')?.predictedMs).toBe(0);
    expect(w.read('app/pkg/bundle.js')).toBe('import "lib"; // edited\nexport const a = 2;\n');

    const settled = await run(w);
    expect(settled.cache).toEqual({
      lib: 'hit-local',
      app: 'hit-local',
      bundle: 'hit-local',
      other: 'hit-local',
    });
    expect(settled.s.predictedMakespanMs).toBe(0);
  });
});
