/** Starts the real `turborepo-remote-cache` server (a devDependency) on 127.0.0.1 with local storage. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../node_modules/turborepo-remote-cache/dist/cli.js',
);

export interface RemoteServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

import { freePort } from '../helpers/ports.js';

export { freePort };

/** Runs the server until `stop()`; `signed` makes it keep and serve `x-artifact-tag` headers. */
export async function startRemoteCache(opts: { signed?: boolean } = {}): Promise<RemoteServer> {
  const storage = mkdtempSync(path.join(os.tmpdir(), 'slipway-remote-'));
  const port = await freePort();
  const token = `test-token-${process.pid}-${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    TURBO_TOKEN: token,
    STORAGE_PROVIDER: 'local',
    STORAGE_PATH: storage,
    STORAGE_PATH_USE_TMP_FOLDER: 'false',
    LOG_LEVEL: 'warn',
  };
  // The server only stores tags when it has a key of its own; it never checks them (clients do).
  if (opts.signed) env.TURBO_REMOTE_CACHE_SIGNATURE_KEY = 'server-side-flag';
  const child: ChildProcess = spawn(process.execPath, [CLI], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/v8/artifacts/status`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (child.exitCode !== null || Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`turborepo-remote-cache did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    token,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
