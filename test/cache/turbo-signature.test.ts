/**
 * Slipway's `x-artifact-tag` against the real turbo binary and the real turborepo-remote-cache
 * server: a tag turbo made verifies with Slipway's check, and an artifact Slipway signs is a
 * remote hit for turbo (while one signed with another key is a miss, so turbo really checks).
 * Both with a team id (`TURBO_TEAMID=team_…`, signed with the id) and a slug (`TURBO_TEAM`,
 * signed with an empty id).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactTag, verifyArtifactTag } from '../../src/cache/signature.js';
import { type RemoteServer, startRemoteCache } from './remote-server.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arch = process.arch === 'x64' ? '64' : process.arch;
const NATIVE = path.join(ROOT, 'node_modules', '@turbo', `${process.platform}-${arch}`, 'bin', 'turbo');
const TURBO = existsSync(NATIVE) ? NATIVE : path.join(ROOT, 'node_modules', '.bin', 'turbo');
const KEY = 'a-signature-key-of-at-least-32-bytes!';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A one-package npm workspace whose build writes dist/out.txt, committed to git. */
function turboRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-turbo-sig-'));
  dirs.push(dir);
  const npmVersion = execFileSync('npm', ['--version'], { encoding: 'utf8' }).trim();
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  };
  write(
    'package.json',
    JSON.stringify({
      name: 'root',
      private: true,
      packageManager: `npm@${npmVersion}`,
      workspaces: ['packages/*'],
    }),
  );
  write(
    'package-lock.json',
    JSON.stringify({
      name: 'root',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'root', workspaces: ['packages/*'] },
        'node_modules/a': { resolved: 'packages/a', link: true },
        'packages/a': { name: 'a', version: '1.0.0' },
      },
    }),
  );
  write(
    'packages/a/package.json',
    JSON.stringify({
      name: 'a',
      version: '1.0.0',
      scripts: { build: 'mkdir -p dist && echo built > dist/out.txt' },
    }),
  );
  write(
    'turbo.json',
    JSON.stringify({ remoteCache: { signature: true }, tasks: { build: { outputs: ['dist/**'] } } }),
  );
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync('git', ['add', '-A'], { cwd: dir });
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init'], { cwd: dir });
  return dir;
}

function turbo(dir: string, server: RemoteServer, team: Record<string, string>): string {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TURBO_TELEMETRY_DISABLED: '1',
    DO_NOT_TRACK: '1',
    TURBO_NO_UPDATE_NOTIFIER: '1',
    TURBO_API: server.url,
    TURBO_TOKEN: server.token,
    TURBO_REMOTE_CACHE_SIGNATURE_KEY: KEY,
    ...team,
  };
  const r = spawnSync(TURBO, ['run', 'build', '--no-daemon', '--output-logs=hash-only'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`turbo failed (${r.status}): ${out}`);
  return out;
}

/** Forgets everything turbo has locally, so the next run can only hit the remote. */
function forgetLocal(dir: string): void {
  rmSync(path.join(dir, '.turbo'), { recursive: true, force: true });
  rmSync(path.join(dir, 'packages/a/dist'), { recursive: true, force: true });
  rmSync(path.join(dir, 'packages/a/.turbo'), { recursive: true, force: true });
}

const query = (team: string) => (team.startsWith('team_') ? `teamId=${team}` : `slug=${team}`);

describe.skipIf(!existsSync(TURBO))(
  'x-artifact-tag against the turbo binary and turborepo-remote-cache',
  () => {
    let server: RemoteServer;
    beforeAll(async () => {
      server = await startRemoteCache({ signed: true });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it.each([
      ['a team id', 'TURBO_TEAMID', 'team_slipwaytest'],
      ['a team slug', 'TURBO_TEAM', 'slipway-slug'],
    ])(
      'with %s: turbo tags verify in Slipway; Slipway tags verify in turbo',
      async (_name, variable, team) => {
        const dir = turboRepo();
        const first = turbo(dir, server, { [variable]: team });
        const hash = /cache miss, executing ([0-9a-f]{16})/.exec(first)?.[1];
        expect(hash, first).toBeDefined();
        const url = `${server.url}/v8/artifacts/${hash}?${query(team)}`;
        const auth = { authorization: `Bearer ${server.token}` };

        // turbo -> Slipway: the tag turbo uploaded verifies with Slipway's check (and not for other bytes).
        const res = await fetch(url, { headers: auth });
        expect(res.status).toBe(200);
        const body = Buffer.from(await res.arrayBuffer());
        const tag = res.headers.get('x-artifact-tag') ?? '';
        expect(verifyArtifactTag(KEY, hash!, team, body, tag)).toBe(true);
        expect(verifyArtifactTag(KEY, hash!, team, Buffer.concat([body, Buffer.from('x')]), tag)).toBe(false);

        // Slipway -> turbo: the same body re-uploaded with a tag from another key is a miss for turbo...
        const put = async (t: string) => {
          const r = await fetch(url, {
            method: 'PUT',
            headers: { ...auth, 'content-type': 'application/octet-stream', 'x-artifact-tag': t },
            body,
          });
          expect(r.status).toBe(200);
        };
        await put(artifactTag('some-other-key-that-is-32-bytes-long', hash!, team, body));
        forgetLocal(dir);
        expect(turbo(dir, server, { [variable]: team })).toContain(`cache miss, executing ${hash}`);
        // ...and with Slipway's tag under the shared key, a remote hit.
        await put(artifactTag(KEY, hash!, team, body));
        forgetLocal(dir);
        const hit = turbo(dir, server, { [variable]: team });
        expect(hit).toMatch(new RegExp(`cache hit[^\\n]*${hash}`));
        expect(existsSync(path.join(dir, 'packages/a/dist/out.txt'))).toBe(true);
      },
    );
  },
);
