/**
 * Defect 6: several first runs at once on a fresh store. Each round starts three `slipway run`
 * processes (each in its own checkout, so no run lock serialises them) against one store that
 * does not exist yet; every one must succeed and every run must be recorded. Then the same on a
 * fresh PostgreSQL database, as two machines starting at once would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, pipelineYaml, STACK_FRAME, Workspace } from '../helpers/cli.js';

const ROUNDS = 6;
/** PostgreSQL rounds are slower (a database each) and Kysely already serialises its migrator. */
const PG_ROUNDS = 3;
const AT_ONCE = 3;
const PG_ADMIN = 'postgres://root@127.0.0.1:5432/test';

const made: Workspace[] = [];
const dirs: string[] = [];
const databases: string[] = [];
afterAll(async () => {
  for (const w of made) w.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (databases.length) await admin(databases.map((d) => `DROP DATABASE IF EXISTS ${d}`)).catch(() => {});
});

function checkouts(): Workspace[] {
  return Array.from({ length: AT_ONCE }, (_, i) => {
    const w = new Workspace('slipway-migrate-');
    made.push(w);
    w.pipeline(pipelineYaml({ t: { run: 'true' } }, { name: `p${i}` }));
    return w;
  });
}

/** Starts every checkout's run at once against `store`; resolves with every result. */
function runAll(ws: Workspace[], store: string): Promise<CliResult[]> {
  return Promise.all(
    ws.map((w) => w.spawn(['run', '--no-cache', '--store', store], { timeoutMs: 60_000 }).done),
  );
}

function expectAllRecorded(results: CliResult[], round: number): void {
  for (const r of results) {
    const out = r.stdout + r.stderr;
    expect(out, `round ${round}`).not.toMatch(/already exists|internal error|database is locked/);
    expect(out, `round ${round}`).not.toMatch(STACK_FRAME);
    expect(r.code, `round ${round}: ${out}`).toBe(0);
  }
}

async function historyCount(w: Workspace, store: string): Promise<number> {
  const r = await w.run(['history', '--json', '--all-pipelines', '-n', '1000', '--store', store]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as unknown[]).length;
}

async function admin(statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2000 });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end().catch(() => {});
  }
}

async function postgresAvailable(): Promise<boolean> {
  try {
    await admin(['SELECT 1']);
    return true;
  } catch (e) {
    console.warn(`PostgreSQL migration race skipped: no server at 127.0.0.1:5432 (${String(e)})`);
    return false;
  }
}

describe('first runs at once on a fresh store', () => {
  it(`SQLite: ${AT_ONCE} processes × ${ROUNDS} rounds all succeed and all are recorded`, async () => {
    const ws = checkouts();
    for (let round = 1; round <= ROUNDS; round++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-fresh-store-'));
      dirs.push(dir);
      const store = path.join(dir, 'history.db');
      expectAllRecorded(await runAll(ws, store), round);
      expect(await historyCount(ws[0]!, store)).toBe(AT_ONCE);
    }
  }, 300_000);

  it(`PostgreSQL: ${AT_ONCE} processes × ${PG_ROUNDS} rounds on a fresh database all succeed`, async (t) => {
    if (!(await postgresAvailable())) {
      t.skip();
      return;
    }
    const ws = checkouts();
    for (let round = 1; round <= PG_ROUNDS; round++) {
      const db = `slipway_migrate_${process.pid}_${Date.now().toString(36)}_${round}`;
      databases.push(db);
      await admin([`CREATE DATABASE ${db}`]);
      const store = `postgres://root@127.0.0.1:5432/${db}`;
      expectAllRecorded(await runAll(ws, store), round);
      expect(await historyCount(ws[0]!, store)).toBe(AT_ONCE);
    }
  }, 300_000);
});
