/**
 * What only the built CLI shows of turbo/Nx/GitHub Actions habits: `slipway run` from a package's
 * subfolder (the file found upward, the run scoped to that package and saying so), the CI default
 * for task output, `outputLogs:` in the file against `--output-logs`, GitHub Actions log groups,
 * NO_COLOR and FORCE_COLOR. (Each mode's rules are unit-tested in src/report/terminal.test.ts;
 * filters against a git history in test/core/unit-filters.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readSummary, runCli, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes
const ESC = /\x1b\[/;
/** Not on GitHub unless a test says so (the suite itself may run there). */
const LOCAL = { GITHUB_ACTIONS: undefined };

/** Packages ui <- web (web depends on ui) and docs; `quiet` prints but has outputLogs: none. */
function monorepo(): Workspace {
  const w = workspace(`version: 1
workspaces:
  tasks:
    build:
      needs: ["^build"]
      run: echo "built $(basename "$PWD")"
tasks:
  quiet:
    run: echo "quiet task talking"
    outputLogs: none
  colour:
    run: printf '\\033[31mred text\\033[0m\\n'
`);
  made.push(w);
  w.write('package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
  w.write('packages/ui/package.json', JSON.stringify({ name: 'ui' }));
  w.write('packages/web/package.json', JSON.stringify({ name: 'web', dependencies: { ui: '*' } }));
  w.write('packages/docs/package.json', JSON.stringify({ name: 'docs' }));
  w.write('packages/web/src/index.js', 'web\n');
  return w;
}

describe('run from anywhere', () => {
  it('in packages/web/src: finds ../../../slipway.yml, runs web and what it needs, and says so', async () => {
    const w = monorepo();
    const r = await runCli(['run', '--summary', 'run.json'], { cwd: w.path('packages/web/src'), env: LOCAL });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(
      /^slipway: in package web \(packages\/web\): only its tasks and what they need; run from \.\.\/\.\.\/\.\. \(the pipeline's folder\) or pass --filter/m,
    );
    // --summary is relative to where the user is; the run's state lives by the pipeline file.
    const s = readSummary(w, 'packages/web/src/run.json');
    expect(s.tasks.map((t) => t.id).sort()).toEqual(['ui#build', 'web#build']);
    expect(w.exists('.slipway/history.db')).toBe(true);
    expect(w.exists('packages/web/src/.slipway')).toBe(false);
  });

  it('a task id from tasks: runs as named from inside a package; --filter lifts the scope', async () => {
    const w = monorepo();
    const cwd = w.path('packages/web');
    const id = await runCli(['run', 'quiet', '--summary', 'q.json'], { cwd, env: LOCAL });
    expect(id.code, id.stderr).toBe(0);
    expect(id.stderr).not.toContain('in package');
    expect(readSummary(w, 'packages/web/q.json').tasks.map((t) => t.id)).toEqual(['quiet']);
    const other = await runCli(['run', '--filter', 'docs', '--summary', 'd.json'], { cwd, env: LOCAL });
    expect(readSummary(w, 'packages/web/d.json').tasks.map((t) => t.id)).toEqual(['docs#build']);
    expect(other.stderr).not.toContain('in package');
  });

  it('no slipway.yml here or above: exit 2, one message, no stack', async () => {
    const w = workspace();
    made.push(w);
    const r = await w.run(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^slipway\.yml: error: no such file\n {2}hint: .*looked for here and in every folder above/,
    );
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('task output in CI', () => {
  it('CI default new-only: a task that ran shows its output, a cache hit is one line; full replays', async () => {
    const w = monorepo();
    const first = await w.run(['run', 'build'], { env: LOCAL });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('web#build | built web');
    const second = await w.run(['run', 'build'], { env: LOCAL });
    expect(second.stdout).toMatch(/✓ web#build cache hit \(local\)/);
    expect(second.stdout).not.toContain('built web');
    const full = await w.run(['run', 'build', '--output-logs=full'], { env: LOCAL });
    expect(full.stdout).toContain('web#build | built web');
    const hashes = await w.run(['run', 'build', '--output-logs=hash-only'], { env: LOCAL });
    expect(hashes.stdout).toMatch(/✓ web#build cache hit \(local\), \S+ hash [0-9a-f]{16,}/);
  });

  it('outputLogs: none in the file hides that task; --output-logs overrides it', async () => {
    const w = monorepo();
    const r = await w.run(['run', 'quiet', 'ui#build'], { env: LOCAL });
    expect(r.stdout).toMatch(/✓ quiet/);
    expect(r.stdout).not.toContain('quiet task talking');
    expect(r.stdout).toContain('ui#build | built ui');
    const forced = await w.run(['run', 'quiet', '--force', '--output-logs', 'full'], { env: LOCAL });
    expect(forced.stdout).toContain('quiet | quiet task talking');
  });

  it('GITHUB_ACTIONS=true: each task one ::group:: titled by its status line', async () => {
    const w = monorepo();
    const r = await w.run(['run', 'build'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^::group::✓ web#build [^\n]*\nbuilt web\n::endgroup::$/m);
    expect(r.stdout).toMatch(/^::group::✓ ui#build [^\n]*\nbuilt ui\n::endgroup::$/m);
    expect(r.stdout).not.toContain('web#build | ');
  });
});

describe('colours', () => {
  it('NO_COLOR: not one escape code, not even the ones a task prints', async () => {
    const w = monorepo();
    const r = await w.run(['run', 'colour', '--output-logs=full'], {
      env: { ...LOCAL, NO_COLOR: '1', FORCE_COLOR: undefined },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('colour | red text');
    expect(r.stdout).not.toMatch(ESC);
  });

  it('FORCE_COLOR=1 without a terminal: coloured status lines, the task colours kept', async () => {
    const w = monorepo();
    const r = await w.run(['run', 'colour', '--output-logs=full'], {
      env: { ...LOCAL, NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(r.stdout).toContain('\x1b[32m✓\x1b[39m colour');
    expect(r.stdout).toContain('\x1b[31mred text');
  });
});
