/**
 * The Turborepo-compatible remote cache against the real `turborepo-remote-cache` server: a
 * second clone gets every task from the remote; a broken remote never breaks the run.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_FRAME, Workspace } from '../helpers/cli.js';
import { fixture, runWithSummary, snapshotTree } from './fixture.js';
import { freePort, type RemoteServer, startRemoteCache } from './remote-server.js';

const made: Workspace[] = [];
const servers: RemoteServer[] = [];
afterAll(async () => {
  // The workspaces go even when stopping a server fails.
  try {
    for (const s of servers) await s.stop();
  } finally {
    for (const w of made) w.cleanup();
  }
});

function repo(): Workspace {
  const w = fixture();
  made.push(w);
  return w;
}

/** A fresh clone of `w` (no .slipway, no outputs). */
function clone(w: Workspace): Workspace {
  const c = new Workspace('slipway-clone-');
  made.push(c);
  execFileSync('git', ['clone', '-q', w.dir, c.dir]); // an empty existing folder is a valid target
  return c;
}

const remoteEnv = (s: { url: string; token: string }, extra: Record<string, string> = {}) => ({
  SLIPWAY_REMOTE_CACHE_URL: s.url,
  SLIPWAY_REMOTE_CACHE_TOKEN: s.token,
  SLIPWAY_REMOTE_CACHE_TEAM: 'slipway-tests',
  ...extra,
});

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

describe('remote cache (turborepo-remote-cache server)', () => {
  let server: RemoteServer;
  beforeAll(async () => {
    server = await startRemoteCache();
    servers.push(server);
  });

  it('clone A uploads; clone B with an empty local cache gets hit-remote everywhere and identical outputs', async () => {
    const a = repo();
    const first = await runWithSummary(a, [], remoteEnv(server));
    expect(first.r.code, first.output).toBe(0);
    expect(first.cache).toEqual({ lib: 'miss', app: 'miss', other: 'miss', notify: 'disabled' });
    expect(first.output).not.toContain(server.token);

    const b = clone(a);
    const second = await runWithSummary(b, [], remoteEnv(server));
    expect(second.r.code, second.output).toBe(0);
    expect(second.cache).toEqual({
      lib: 'hit-remote',
      app: 'hit-remote',
      other: 'hit-remote',
      notify: 'disabled',
    });
    for (const dir of ['lib/dist', 'app/dist', 'other/out']) {
      expect(snapshotTree(b.path(dir)), dir).toEqual(snapshotTree(a.path(dir)));
    }
    for (const t of second.s.tasks) expect(t.hash).toBe(first.s.byId.get(t.id)?.hash);
    // Now it is local too.
    const third = await runWithSummary(b, [], remoteEnv(server));
    expect(third.cache.lib).toBe('hit-local');

    // The pipeline file can name the server; the token still comes from the environment only.
    const c = clone(a);
    c.write(
      'slipway.yml',
      `${c.read('slipway.yml')}cache:\n  remote: { url: "${server.url}", team: slipway-tests }\n`,
    );
    const fromFile = await runWithSummary(c, [], { SLIPWAY_REMOTE_CACHE_TOKEN: server.token });
    expect(fromFile.cache.other).toBe('hit-remote');
  });

  it('a wrong token leaves the run green with one warning and no token in the output', async () => {
    const w = repo();
    const r = await runWithSummary(
      w,
      [],
      remoteEnv(server, { SLIPWAY_REMOTE_CACHE_TOKEN: 'wrong-secret-token' }),
    );
    expect(r.r.code, r.output).toBe(0);
    expect(r.cache.lib).toBe('miss');
    expect(count(r.output, /remote cache .* unavailable/)).toBe(1);
    expect(r.output).toMatch(/refused the token/);
    expect(r.output).not.toContain('wrong-secret-token');
    expect(r.output).not.toMatch(STACK_FRAME);
    // The local cache still works.
    expect(
      (await runWithSummary(w, [], remoteEnv(server, { SLIPWAY_REMOTE_CACHE_TOKEN: 'x' }))).cache.lib,
    ).toBe('hit-local');
  });

  it('a stopped server leaves the run green with one warning', async () => {
    const w = repo();
    const port = await freePort();
    const r = await runWithSummary(w, [], remoteEnv({ url: `http://127.0.0.1:${port}`, token: 't' }));
    expect(r.r.code, r.output).toBe(0);
    expect(Object.values(r.cache)).toEqual(['miss', 'miss', 'miss', 'disabled']);
    expect(count(r.output, /remote cache .* unavailable/)).toBe(1);
    expect(r.output).toMatch(/ECONNREFUSED/);
  });

  it('a server answering 500 is retried, then dropped for the run with one warning', async () => {
    let requests = 0;
    const bad: Server = createServer((req, res) => {
      requests++;
      req.resume();
      res.statusCode = 500;
      res.end('boom');
    });
    const port = await freePort();
    await new Promise<void>((r) => bad.listen(port, '127.0.0.1', r));
    try {
      const w = repo();
      // One task at a time, so exactly one request meets the failing server first.
      const r = await runWithSummary(
        w,
        ['-c', '1'],
        remoteEnv({ url: `http://127.0.0.1:${port}`, token: 't' }),
      );
      expect(r.r.code, r.output).toBe(0);
      expect(r.cache.lib).toBe('miss');
      expect(count(r.output, /remote cache .* unavailable/)).toBe(1);
      expect(r.output).toMatch(/HTTP 500/);
      // Three attempts for the first request, then nothing more: the remote is off for the run.
      expect(requests).toBe(3);
    } finally {
      await new Promise((r) => bad.close(r));
    }
  });
});

describe('remote cache signatures (x-artifact-tag)', () => {
  let server: RemoteServer;
  beforeAll(async () => {
    server = await startRemoteCache({ signed: true });
    servers.push(server);
  });

  it('the same key verifies; a wrong key is a miss with a warning, never a restore', async () => {
    const a = repo();
    const key = { SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY: 'right-key' };
    expect((await runWithSummary(a, [], remoteEnv(server, key))).r.code).toBe(0);

    const good = clone(a);
    const ok = await runWithSummary(good, [], remoteEnv(server, key));
    expect(ok.cache).toEqual({
      lib: 'hit-remote',
      app: 'hit-remote',
      other: 'hit-remote',
      notify: 'disabled',
    });

    const wrong = clone(a);
    const r = await runWithSummary(
      wrong,
      [],
      remoteEnv(server, { SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY: 'wrong-key' }),
    );
    expect(r.r.code, r.output).toBe(0);
    expect(r.cache).toEqual({ lib: 'miss', app: 'miss', other: 'miss', notify: 'disabled' });
    expect(r.output).toMatch(/failed the signature check/);
    expect(r.output).not.toContain('wrong-key');
  });
});

describe("turbo's variables (TURBO_API, TURBO_TOKEN, TURBO_TEAM, TURBO_REMOTE_CACHE_SIGNATURE_KEY)", () => {
  let server: RemoteServer;
  beforeAll(async () => {
    server = await startRemoteCache({ signed: true });
    servers.push(server);
  });

  it('stand in for unset SLIPWAY_REMOTE_CACHE_* variables; the SLIPWAY_ ones win', async () => {
    const turboEnv = {
      TURBO_API: server.url,
      TURBO_TOKEN: server.token,
      TURBO_TEAM: 'turbo-team',
      TURBO_REMOTE_CACHE_SIGNATURE_KEY: 'turbo-key',
    };
    const a = repo();
    const first = await runWithSummary(a, [], turboEnv);
    expect(first.r.code, first.output).toBe(0);
    expect(first.output).not.toContain(server.token);
    const b = clone(a);
    const second = await runWithSummary(b, [], turboEnv);
    expect(second.cache.lib, second.output).toBe('hit-remote');
    // The body went up compressed and signed with turbo's key (a Slipway key would not verify it).
    const c = clone(a);
    const other = await runWithSummary(c, [], { ...turboEnv, SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY: 'k2' });
    expect(other.cache.lib).toBe('miss');
    expect(other.output).toMatch(/failed the signature check/);
  });
});
