/**
 * A SQLite store closed in a process that exits right after (store/sqlite-exit.ts): its log stays
 * for the next opener, with every commit in it (another connection reads them, and the next
 * store's close checkpoints them into the file), unless the log has grown past its bound, when
 * it is checkpointed and removed as by any close.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { historyDbFile } from '../../src/state/paths.js';
import { openStore } from '../../src/store/store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function checkout(): { root: string; file: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'slipway-exit-'));
  dirs.push(root);
  return { root, file: historyDbFile(root) };
}

/** A lease row written through the store (what a deploy writes first). */
const lease = (environment: string) => ({
  environment,
  deployment_id: `d-${environment}`,
  owner_pid: 1,
  owner_host: 'h',
  owner_start: 's',
  acquired_at: 1,
  expires_at: 2,
});

/** The environments another connection reads leases for. */
function leased(file: string): string[] {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (
      db.prepare('select environment from deploy_leases order by environment').all() as {
        environment: string;
      }[]
    ).map((r) => r.environment);
  } finally {
    db.close();
  }
}

const logFiles = (file: string) =>
  readdirSync(path.dirname(file)).filter((n) => n.endsWith('-wal') || n.endsWith('-shm'));

describe('closing a SQLite store as the process exits', () => {
  it('leaves the log with every commit in it for the next opener', async () => {
    const { root, file } = checkout();
    const store = await openStore({ root });
    await store.leases.insertIfAbsent(lease('e1'));
    await store.close({ processExits: true });
    expect(logFiles(file).sort()).toEqual(['history.db-shm', 'history.db-wal']);
    expect(leased(file)).toEqual(['e1']);
    // The next process appends to the log; its own close checkpoints it and removes it.
    const next = await openStore({ root });
    await next.leases.insertIfAbsent(lease('e2'));
    await next.close();
    expect(leased(file)).toEqual(['e1', 'e2']);
  });

  it('checkpoints a log grown past its bound, as any close does', async () => {
    const { root, file } = checkout();
    const store = await openStore({ root });
    await store.leases.insertIfAbsent(lease('e1'));
    // Another connection grows the log past 2 MiB (the store's, still open, keeps it from being checkpointed).
    const other = new BetterSqlite3(file);
    other.exec('create table pad (b blob)');
    other.prepare('insert into pad values (randomblob(3000000))').run();
    other.close();
    expect(statSync(`${file}-wal`).size).toBeGreaterThan(2 * 1024 * 1024);
    await store.close({ processExits: true });
    expect(logFiles(file)).toEqual([]);
    expect(leased(file)).toEqual(['e1']);
  });
});
