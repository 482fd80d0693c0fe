/**
 * The store the daemon's spare opens before a command comes (store/warm-sqlite.ts): a command
 * gets it only for that very file, unchanged and at this build's schema, and otherwise opens
 * its own; opening it ahead creates and migrates nothing; closing it leaves no log files.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { historyDbFile } from '../../src/state/paths.js';
import { openStore } from '../../src/store/store.js';
import { WarmSqlite } from '../../src/store/warm-sqlite.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A checkout folder whose default store exists, made by a normal open. */
async function checkout(): Promise<{ root: string; file: string }> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-warm-'));
  dirs.push(root);
  await (await openStore({ root })).close();
  return { root, file: historyDbFile(root) };
}

const run = (id: string) => ({
  newRuns: [
    {
      id,
      pipeline: 'demo',
      status: 'success',
      started_at: 1,
      ended_at: 2,
      duration_ms: 1,
      concurrency: 1,
      capacity_cpu: 1,
      lower_bound_ms: 0,
      predicted_makespan_ms: 0,
      critical_path: '[]',
      git_sha: null,
      git_commit_at: null,
      argv: '[]',
      pid: 1,
      host: 'h',
      tasks_total: 0,
      tasks_succeeded: 0,
      tasks_failed: 0,
      tasks_skipped: 0,
      tasks_cached: 0,
    },
  ],
  changedRuns: [],
  taskRuns: [],
});

/** The run ids another connection sees in `file` (what `slipway history` would list). */
function runIds(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('select id from runs order by id').all() as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

const logFiles = (file: string) =>
  readdirSync(path.dirname(file)).filter((n) => n.endsWith('-wal') || n.endsWith('-shm'));

describe('WarmSqlite', () => {
  it("is the store a command gets for its file; what it writes is committed when the command's close returns", async () => {
    const { root, file } = await checkout();
    const warm = await WarmSqlite.open(file);
    expect(warm).toBeDefined();
    const store = await openStore({ root, warm });
    await store.runs.write(run('r1') as never);
    await store.close();
    // Another process reads the run before the owner closes the connection.
    expect(runIds(file)).toEqual(['r1']);
    // Taken once: a second command opens its own.
    expect(await warm!.take(file)).toBeUndefined();
    await warm!.close();
    // The last connection's close checkpointed the log into the file and removed it.
    expect(logFiles(file)).toEqual([]);
    expect(runIds(file)).toEqual(['r1']);
  });

  it('is not used for another store: the command opens the one it names', async () => {
    const { root, file } = await checkout();
    const other = path.join(root, 'other.db');
    const warm = await WarmSqlite.open(file);
    const store = await openStore({ root, url: other, warm });
    await store.runs.write(run('r2') as never);
    await store.close();
    expect(runIds(other)).toEqual(['r2']);
    expect(runIds(file)).toEqual([]);
    // Still there for a command that asks for its file.
    expect(await warm!.take(file)).toBeDefined();
    await warm!.close();
  });

  it('is not used once its file was replaced: the write goes to the file the path names now', async () => {
    const { root, file } = await checkout();
    const warm = await WarmSqlite.open(file);
    // Another store moved into place under the same name (a restored backup, a reset state folder).
    const fresh = await checkout();
    renameSync(fresh.file, file);
    const store = await openStore({ root, warm });
    await store.runs.write(run('r3') as never);
    await store.close();
    await warm!.close();
    expect(runIds(file)).toEqual(['r3']);
  });

  it('creates nothing for a checkout without a store, and leaves a store of another schema alone', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-warm-'));
    dirs.push(root);
    expect(await WarmSqlite.open(historyDbFile(root))).toBeUndefined();
    expect(existsSync(path.join(root, '.slipway'))).toBe(false);

    mkdirSync(path.join(root, '.slipway'));
    const old = new BetterSqlite3(historyDbFile(root));
    old.pragma('user_version = 7');
    old.close();
    expect(await WarmSqlite.open(historyDbFile(root))).toBeUndefined();
    const check = new BetterSqlite3(historyDbFile(root), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(7);
    check.close();
  });
});
