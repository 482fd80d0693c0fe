/**
 * Crashes and interruptions: after `kill -9` of the CLI the history database is intact and
 * `run --resume` reruns only what did not finish; after SIGINT no task process is left and the
 * run is recorded as cancelled.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readPid,
  readSummary,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const made: Workspace[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const p of pids) killTree(p);
  for (const ws of made) ws.cleanup();
});

const count = (w: Workspace, file: string): number =>
  w.exists(file) ? w.read(file).split('\n').filter(Boolean).length : 0;

interface HistoryRun {
  id: string;
  status: string;
  [k: string]: unknown;
}

/** True once the history at `dbFile` holds a successful result of `taskId` (read-only, never blocks). */
function recorded(dbFile: string, taskId: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbFile, { readonly: true, fileMustExist: true });
    return !!db.prepare("SELECT 1 FROM task_runs WHERE task_id = ? AND status = 'success'").get(taskId);
  } catch {
    // Not created or not migrated yet, or busy: ask again.
    return false;
  } finally {
    db?.close();
  }
}

/** `slipway history --json` as a list of runs (accepts a bare array or `{ runs: [...] }`). */
async function history(w: Workspace): Promise<HistoryRun[]> {
  const r = await w.run(['history', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const parsed = JSON.parse(r.stdout) as HistoryRun[] | { runs: HistoryRun[] };
  return Array.isArray(parsed) ? parsed : parsed.runs;
}

describe('kill -9 of the CLI mid-run', () => {
  it('leaves a clean database, and --resume runs only the unfinished tasks', async () => {
    // first -> second -> third. second is in flight when the CLI dies.
    const w = workspace(
      pipelineYaml({
        first: { run: 'echo first >> first.count' },
        second: {
          // Long enough to be surely in flight when killed; quick once the test writes "fast".
          run: 'echo $$ >> second.pids; echo second >> second.count; [ -f fast ] || sleep 5',
          needs: ['first'],
        },
        third: { run: 'echo third >> third.count', needs: ['second'] },
      }),
    );
    made.push(w);
    const cli = w.spawn(['run', '-c', '2']);
    // first has finished (its dependent has started) and second is running.
    await waitFor(() => count(w, 'second.count') > 0, { what: 'second to start' });
    const orphan = readPid(w.path('second.pids'));
    if (orphan) pids.push(orphan);
    // The store writer records first's result (emitted before second started) a little later:
    // wait for the row itself, not for a guess at how long a loaded machine takes to write it.
    await waitFor(() => recorded(path.join(w.dir, '.slipway', 'history.db'), 'first'), {
      what: "first's result in the history",
      timeoutMs: 30_000,
    });
    cli.child.kill('SIGKILL');
    const killed = await cli.done;
    expect(killed.signal).toBe('SIGKILL');
    killTree(orphan); // the orphaned task would otherwise finish on its own

    const dbFile = path.join(w.dir, '.slipway', 'history.db');
    const db = new Database(dbFile);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const runs = db.prepare('SELECT id, status FROM runs').all() as { id: string; status: string }[];
      expect(runs).toHaveLength(1);
      expect(runs[0]!.status).not.toBe('success');
      const done = db
        .prepare("SELECT task_id FROM task_runs WHERE run_id = ? AND status = 'success'")
        .all(runs[0]!.id) as { task_id: string }[];
      expect(done.map((d) => d.task_id)).toEqual(['first']);
    } finally {
      db.close();
    }

    w.write('fast', '');
    const r = await w.run(['run', '--resume', '-c', '2', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const s = readSummary(w);
    expect(s.status).toBe('success');
    expect(s.tasks.map((t) => t.id).sort()).toEqual(['second', 'third']);
    expect(count(w, 'first.count')).toBe(1);
    expect(count(w, 'second.count')).toBe(2);
    expect(count(w, 'third.count')).toBe(1);

    // The killed run is no longer shown as running once a later command has looked at the store.
    const runs = await history(w);
    expect(runs).toHaveLength(2);
    expect(runs.map((x) => x.status).sort()).toEqual(['interrupted', 'success']);
  });

  it('--resume after a failed run reruns the failed and skipped tasks only', async () => {
    const w = workspace(
      pipelineYaml({
        ok: { run: 'echo ok >> ok.count' },
        flaky: { run: 'echo f >> flaky.count; [ -f fixed ]', needs: ['ok'] },
        after: { run: 'echo a >> after.count', needs: ['flaky'] },
      }),
    );
    made.push(w);
    expect((await w.run(['run'])).code).toBe(1);
    w.write('fixed', '');
    const r = await w.run(['run', '--resume', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    expect(
      readSummary(w)
        .tasks.map((t) => t.id)
        .sort(),
    ).toEqual(['after', 'flaky']);
    expect(count(w, 'ok.count')).toBe(1);
    expect(count(w, 'flaky.count')).toBe(2);
    expect(count(w, 'after.count')).toBe(1);
  });
});

describe('SIGINT (Ctrl-C) mid-run', () => {
  it('kills every task process tree, exits non-zero, and records the run as cancelled', async () => {
    // Two long tasks, each with a grandchild; a third that must never start.
    const long = (id: string) => `echo $$ > ${id}.pid; sh -c 'echo $$ > ${id}-gc.pid; exec sleep 30' & wait`;
    const w = workspace(
      pipelineYaml({
        one: { run: long('one') },
        two: { run: long('two') },
        later: { run: 'touch later.ran', needs: ['one'] },
      }),
    );
    made.push(w);
    const cli = w.spawn(['run', '-c', '2', '--summary', 'summary.json']);
    const files = ['one.pid', 'one-gc.pid', 'two.pid', 'two-gc.pid'];
    const ids = await waitFor(
      () => {
        const got = files.map((f) => readPid(w.path(f)));
        return got.every((p) => p !== undefined) ? (got as number[]) : undefined;
      },
      { what: 'both tasks and their grandchildren to start' },
    );
    pids.push(...ids);
    for (const p of ids) expect(isAlive(p)).toBe(true);

    cli.child.kill('SIGINT');
    const r = await cli.done;
    expect(r.code === 130 || (r.code !== null && r.code !== 0), `exit ${r.code} ${r.signal}`).toBe(true);
    // No task process outlives the CLI (a short wait for the kernel to reap).
    await waitFor(() => ids.every((p) => !isAlive(p)), {
      timeoutMs: 15_000,
      what: `task processes ${ids.join(', ')} to be gone`,
    });
    expect(w.exists('later.ran')).toBe(false);

    const runs = await history(w);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('cancelled');

    const s = readSummary(w);
    expect(s.status).toBe('cancelled');
    expect(s.byId.get('one')?.status).toBe('cancelled');
    expect(s.byId.get('two')?.status).toBe('cancelled');
    expect(s.byId.get('later')?.status).not.toBe('success');
  });
});
