/**
 * Defect 10: store values. Only postgres:// / postgresql:// URLs and file paths are stores; any
 * other scheme is a usage error that creates nothing; a store that cannot be opened is one line
 * naming it (password hidden), exit code 2; commands that only read history create no store
 * file or folder. PostgreSQL cases use the real server at 127.0.0.1:5432 (skipped without it).
 */
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, pipelineYaml, STACK_FRAME, Workspace } from '../helpers/cli.js';

const PG = '127.0.0.1:5432';
const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

function repo(): Workspace {
  const w = new Workspace('slipway-store-url-');
  made.push(w);
  w.pipeline(pipelineYaml({ t: { run: 'true' } }, { name: 'urls' }));
  return w;
}

/** Exit 2, an `error:` line and a hint, no stack trace, no "internal error". */
function expectUsageError(r: CliResult): string {
  const out = r.stdout + r.stderr;
  expect(r.code, out).toBe(2);
  expect(out).not.toMatch(STACK_FRAME);
  expect(out).not.toMatch(/internal error/);
  expect(r.stderr).toMatch(/^error: /m);
  expect(r.stderr).toMatch(/^ {2}hint: /m);
  return r.stderr;
}

/** Everything in the workspace apart from the pipeline file and slipway's own state folder. */
function strayEntries(w: Workspace): string[] {
  return readdirSync(w.dir).filter((n) => n !== 'slipway.yml' && n !== '.slipway');
}

async function postgresUp(): Promise<boolean> {
  const c = new pg.Client({ connectionString: `postgres://root@${PG}/test`, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch (e) {
    console.warn(`PostgreSQL cases skipped: no server at ${PG} (${String(e)})`);
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/** A port nothing listens on: bound to 0, read, closed (a refused connection is all we need). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('store values that are not stores', () => {
  it('a near miss of postgres:// is refused with "did you mean", and creates nothing', async () => {
    const w = repo();
    for (const cmd of [['history'], ['run']]) {
      const r = await w.run([...cmd, '--store', 'postgress://ci:s3cret-pw@db.example:5432/slipway']);
      const err = expectUsageError(r);
      expect(err).toContain('did you mean "postgres://ci:***@db.example:5432/slipway"');
      expect(err).not.toContain('s3cret-pw');
      expect(strayEntries(w)).toEqual([]);
      expect(w.exists('.slipway/history.db')).toBe(false);
    }
  });

  it('mysql://, redis:// and file:// are usage errors naming the accepted forms (also from SLIPWAY_STORE)', async () => {
    const w = repo();
    for (const value of [
      'mysql://root:pw123@127.0.0.1/slipway',
      'redis://127.0.0.1:6379/0',
      'file:///tmp/h.db',
    ]) {
      const r = await w.run(['history', '--store', value]);
      const err = expectUsageError(r);
      expect(err).toMatch(/is not a supported store/);
      expect(err).toMatch(/postgres:\/\/.*SQLite file path/);
      expect(err).not.toContain('pw123');
    }
    const env = await w.run(['run'], { env: { SLIPWAY_STORE: 'redis://127.0.0.1:6379' } });
    expect(expectUsageError(env)).toMatch(/^error: SLIPWAY_STORE "redis:\/\/127\.0\.0\.1:6379"/m);
    expect(strayEntries(w)).toEqual([]);
    expect(w.exists('.slipway/history.db')).toBe(false);
  });
});

describe('read-only commands create no store', () => {
  const readOnly = [
    ['history'],
    ['report'],
    ['plan'],
    ['regressions'],
    ['deployments'],
    ['check'],
    ['cache', 'stats'],
  ];

  it('--store in a folder that does not exist: empty history, the folder is not created', async () => {
    const w = repo();
    const store = w.path('nonexistent', 'dir', 'h.db');
    for (const cmd of readOnly) {
      const r = await w.run([...cmd, '--store', store]);
      expect(r.stdout + r.stderr, cmd.join(' ')).not.toMatch(STACK_FRAME);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
      expect(existsSync(w.path('nonexistent')), cmd.join(' ')).toBe(false);
    }
    expect((await w.run(['history', '--store', store])).stdout).toMatch(/no runs recorded yet/);
  });

  it('the default store is not created by reading, and is read once a run made it', async () => {
    const w = repo();
    for (const cmd of readOnly) {
      const r = await w.run(cmd);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
      expect(w.exists('.slipway/history.db'), cmd.join(' ')).toBe(false);
    }
    const store = w.path('made', 'here', 'h.db');
    expect((await w.run(['run', '--store', store])).code).toBe(0);
    const h = await w.run(['history', '--json', '--store', store]);
    expect(h.code, h.stderr).toBe(0);
    expect(JSON.parse(h.stdout)).toHaveLength(1);
  });
});

describe('a store written by a newer Slipway', () => {
  it('is one line saying so, exit 2, for reading and for writing commands, and is left as it was', async () => {
    const w = repo();
    expect((await w.run(['run'])).code).toBe(0);
    // What a newer build leaves behind: a migration this one does not know, and its schema mark.
    const db = new Database(w.path('.slipway', 'history.db'));
    db.prepare(
      "INSERT INTO slipway_migrations (name, timestamp) VALUES ('999-future', '2099-01-01T00:00:00.000Z')",
    ).run();
    db.pragma('user_version = 12345');
    db.close();
    for (const cmd of [['history'], ['run']]) {
      const err = expectUsageError(await w.run(cmd));
      expect(err, cmd.join(' ')).toMatch(
        /it has migration 999-future, which this version of Slipway does not know/,
      );
      expect(err, cmd.join(' ')).toMatch(/hint: a newer Slipway wrote this store/);
    }
    const after = new Database(w.path('.slipway', 'history.db'), { readonly: true });
    expect(after.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 1 });
    after.close();
  });
});

describe('a PostgreSQL store that cannot be opened', () => {
  let up = false;
  beforeAll(async () => {
    up = await postgresUp();
  });

  it('an unknown role: one line naming the store, password hidden, exit 2', async (t) => {
    if (!up) return t.skip();
    const w = repo();
    const role = `nobody_${process.pid}`;
    const r = await w.run(['history', '--store', `postgres://${role}:pw-9876@${PG}/test`]);
    const err = expectUsageError(r);
    expect(err).toMatch(
      new RegExp(
        `^error: cannot open store postgres://${role}:\\*\\*\\*@${PG}/test: role "${role}" does not exist$`,
        'm',
      ),
    );
    expect(err).not.toContain('pw-9876');
  });

  it('a missing database: one line naming it, exit 2, for reading and for writing commands', async (t) => {
    if (!up) return t.skip();
    const w = repo();
    const db = `missing_${process.pid}_${Date.now().toString(36)}`;
    for (const cmd of [['history'], ['run'], ['regressions', 'ack', 'x']]) {
      const r = await w.run([...cmd, '--store', `postgresql://root@${PG}/${db}`]);
      expect(expectUsageError(r)).toMatch(
        new RegExp(`^error: cannot open store .*/${db}: database "${db}" does not exist$`, 'm'),
      );
    }
  });

  it('no server on the port (refused) and a server that never answers: exit 2, no stack trace', async () => {
    const w = repo();
    const port = await closedPort();
    const refused = await w.run(['history', '--store', `postgres://root:topsecret@127.0.0.1:${port}/test`]);
    const err = expectUsageError(refused);
    expect(err).toMatch(
      new RegExp(
        `^error: cannot open store postgres://root:\\*\\*\\*@127\\.0\\.0\\.1:${port}/test: .*ECONNREFUSED`,
        'm',
      ),
    );
    expect(err).not.toContain('topsecret');

    // Accepts connections and never says a word: the connect timeout ends it.
    const sockets: Socket[] = [];
    const mute: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    try {
      const p = (mute.address() as { port: number }).port;
      const r = await w.run(['history', '--store', `postgres://root@127.0.0.1:${p}/test`], {
        timeoutMs: 60_000,
      });
      expect(expectUsageError(r)).toMatch(
        /^error: cannot open store postgres:\/\/root@127\.0\.0\.1:\d+\/test: /m,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => mute.close(r));
    }
  });
});
