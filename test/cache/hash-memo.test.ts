/**
 * The hash memo (the `hashes` section of `.slipway/ledger`): a run reuses the last run's task hashes only while
 * everything they were computed from is unchanged. The dangerous direction is a stale hash (a
 * false hit), so most cases here change an input in a way git's own texts do not show: an
 * untracked file or an already-modified tracked file edited again, which leaves `git status`
 * word for word the same.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { worldKey } from '../../src/cache/hash-memo.js';
import type { Pipeline, TaskConfig } from '../../src/config/types.js';
import { isRacyRecord, statRecord } from '../../src/state/stat-record.js';
import { readGitFacts } from '../../src/util/git-facts.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';
import { taskConfig } from '../helpers/config.js';
import { LEDGER, readLedger } from '../helpers/ledger.js';
import { fixture, runWithSummary, TASKS } from './fixture.js';

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

type Memo = { key: string; hashes: Record<string, string>; reads: Record<string, string> };
const hasMemo = (w: Workspace) =>
  existsSync(path.join(w.dir, LEDGER)) && readLedger(w.dir).sections.hashes !== undefined;
const memo = (w: Workspace) => readLedger(w.dir).sections.hashes as Memo;

/**
 * Writes a file, dates it a minute back and waits until its ctime (which no call can set) has
 * left the racy window too (state/racy.ts), so the memo is written.
 */
async function writeOld(w: Workspace, rel: string, text: string, ageS = 60): Promise<void> {
  const file = path.join(w.dir, rel);
  writeFileSync(file, text);
  const t = Date.now() / 1000 - ageS;
  utimesSync(file, t, t);
  const deadline = Date.now() + 60_000;
  while (isRacyRecord(statRecord(file)) && Date.now() < deadline) await sleep(100);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes a file that stays inside the racy window for the rest of the test: dated ten minutes
 * ahead rather than "now", because a run on a loaded machine can outlast the 2 s window, and a
 * file that left it meanwhile would (rightly) let that run write the memo.
 */
function writeRacy(w: Workspace, rel: string, text: string): void {
  writeFileSync(path.join(w.dir, rel), text);
  const t = Date.now() / 1000 + 600;
  utimesSync(path.join(w.dir, rel), t, t);
}

const status = (w: Workspace) =>
  execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: w.dir, encoding: 'utf8' });

async function cached(w: Workspace) {
  const { r, cache, output } = await runWithSummary(w);
  expect(r.code, output).toBe(0);
  return cache;
}

describe('hash memo', () => {
  it('is written by a run and lets the next unchanged run hit everything', async () => {
    const w = fixture();
    made.push(w);
    await cached(w);
    expect(hasMemo(w)).toBe(true);
    const m = memo(w);
    expect(Object.keys(m.hashes).sort()).toEqual(['app', 'lib', 'notify', 'other']);
    expect(await cached(w)).toEqual({
      lib: 'hit-local',
      app: 'hit-local',
      other: 'hit-local',
      notify: 'disabled',
    });
    // Nothing new was computed: the memo is left as it was.
    expect(memo(w)).toEqual(m);
  });

  it('reruns a task when an untracked input changes while git status stays the same', async () => {
    const w = fixture();
    made.push(w);
    await writeOld(w, 'lib/src/extra.js', 'export const x = 1;\n');
    await cached(w);
    expect(memo(w).reads[path.join(w.dir, 'lib/src/extra.js')]).toBeDefined();
    const before = status(w);
    // Same size and the very same mtime, new content: only ctime (and the content) tell.
    const file = path.join(w.dir, 'lib/src/extra.js');
    const { atime, mtime, mtimeMs, size } = statSync(file);
    writeFileSync(file, 'export const x = 2;\n');
    utimesSync(file, atime, mtime);
    expect(statSync(file)).toMatchObject({ mtimeMs, size });
    expect(status(w)).toBe(before);
    const cache = await cached(w);
    expect(cache.lib).toBe('miss');
    expect(cache.app).toBe('miss');
    expect(cache.other).toBe('hit-local');
    expect(readFileSync(path.join(w.dir, 'lib/dist/lib.js'), 'utf8')).toContain('x = 2');
  });

  it('reruns a task when a modified tracked file is modified again', async () => {
    const w = fixture();
    made.push(w);
    await writeOld(w, 'other/src/o.js', 'first edit\n');
    await cached(w);
    const before = status(w);
    expect(before).toContain(' M other/src/o.js');
    await writeOld(w, 'other/src/o.js', 'later edit\n', 30);
    expect(status(w)).toBe(before);
    const cache = await cached(w);
    expect(cache.other).toBe('miss');
    expect(cache.lib).toBe('hit-local');
  });

  it('is not written while an input is inside the racy window, and never trusted then', async () => {
    const w = fixture();
    made.push(w);
    await writeOld(w, 'lib/src/extra.js', 'export const x = 1;\n');
    await cached(w);
    const old = memo(w);
    // Modified within the window: the next run recomputes (the stat differs) and must not record it.
    writeRacy(w, 'lib/src/extra.js', 'export const x = 3;\n');
    const cache = await cached(w);
    expect(cache.lib).toBe('miss');
    expect(memo(w)).toEqual(old);
    // And the stale memo is still refused on the run after.
    expect((await cached(w)).lib).toBe('hit-local');
    expect(readFileSync(path.join(w.dir, 'lib/dist/lib.js'), 'utf8')).toContain('x = 3');
  });

  it('is never written outside a git repository (inputs come from walking folders)', async () => {
    const w = workspace(pipelineYaml(TASKS));
    made.push(w);
    w.write('lib/src/a.js', 'export const a = 1;\n');
    w.write('app/src/main.js', 'import "lib";\n');
    w.write('other/src/o.js', 'o\n');
    await cached(w);
    expect((await cached(w)).lib).toBe('hit-local');
    expect(hasMemo(w)).toBe(false);
  });

  it('keeps .slipway out of git even where the project does not ignore it', async () => {
    const w = fixture();
    made.push(w);
    w.write('.gitignore', 'dist/\nout/\n*.json\nnotified.txt\n');
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'x'], { cwd: w.dir });
    await cached(w);
    expect(status(w)).toBe('');
    const m = memo(w);
    expect(await cached(w)).toMatchObject({ lib: 'hit-local', app: 'hit-local', other: 'hit-local' });
    expect(memo(w)).toEqual(m);
  });

  it('reruns a task whose command changed in slipway.yml', async () => {
    const w = fixture();
    made.push(w);
    await cached(w);
    const yml = readFileSync(path.join(w.dir, 'slipway.yml'), 'utf8');
    w.write('slipway.yml', yml.replace('echo built other', 'echo built other again'));
    const cache = await cached(w);
    expect(cache.other).toBe('miss');
    expect(cache.lib).toBe('hit-local');
  });
});

describe('worldKey', () => {
  const task = (over: Partial<TaskConfig> = {}) => taskConfig({ run: 'echo', cwd: '/r', ...over });
  const pipeline = (t: TaskConfig, env: Record<string, string> = {}) =>
    ({ root: '/r', env, inputs: [], tasks: new Map([[t.id, t]]) }) as unknown as Pipeline;
  const facts = { where: '/r\n', index: '100644 abc 0\ta', status: '', head: undefined };

  it('changes with every input of a hash, and only exists with git', async () => {
    const base = worldKey(pipeline(task()), facts);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(worldKey(pipeline(task()), { ...facts })).toBe(base);
    const variants = [
      worldKey(pipeline(task({ run: 'echo 2' })), facts),
      worldKey(pipeline(task({ env: { A: '1' } })), facts),
      worldKey(pipeline(task({ outputs: ['dist/**'] })), facts),
      worldKey(pipeline(task(), { G: '1' }), facts),
      worldKey(pipeline(task()), { ...facts, index: '100644 abd 0\ta' }),
      worldKey(pipeline(task()), { ...facts, status: '?? b' }),
      worldKey(pipeline(task()), { ...facts, where: '/s\n' }),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
    expect(worldKey(pipeline(task()), { ...facts, index: undefined })).toBeUndefined();
  });

  it('reads the facts of a real repository', async () => {
    const w = fixture();
    made.push(w);
    const key = worldKey(pipeline(task({ cwd: w.dir })), await readGitFacts(w.dir));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
  });
});
