/**
 * The deploy bench's peer: rsync from the distribution (installed when missing) running as a
 * daemon on loopback, one writable module per destination.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { freePort } from './count-proxy.js';

export function which(cmd: string): string | undefined {
  return spawnSync('which', [cmd], { encoding: 'utf8' }).stdout.trim() || undefined;
}

/** rsync from the distribution, installed when missing (the bench then says so); undefined if impossible. */
export function ensureRsync(log: (l: string) => void): string | undefined {
  let rsync = which('rsync');
  if (!rsync) {
    log('bench: rsync missing; installing it with apt-get');
    spawnSync('apt-get', ['install', '-y', '-q', 'rsync'], { stdio: 'ignore' });
    rsync = which('rsync');
  }
  return rsync;
}

/** `rsync --daemon` on 127.0.0.1 with a module per name, each the folder `<root>/rsync/<name>`. */
export async function startRsyncDaemon(
  rsync: string,
  root: string,
  modules: string[],
): Promise<{ proc: ChildProcess; port: number }> {
  const conf = [
    'use chroot = no',
    'munge symlinks = no',
    // Run as ourselves (a root daemon would switch to nobody and could not write here).
    `uid = ${os.userInfo().uid}`,
    `gid = ${os.userInfo().gid}`,
    `pid file = ${join(root, 'rsyncd.pid')}`,
    ...modules.flatMap((m) => {
      mkdirSync(join(root, 'rsync', m), { recursive: true });
      return [`[${m}]`, `path = ${join(root, 'rsync', m)}`, 'read only = no'];
    }),
  ].join('\n');
  writeFileSync(join(root, 'rsyncd.conf'), `${conf}\n`);
  const port = await freePort();
  const proc = spawn(
    rsync,
    [
      '--daemon',
      '--no-detach',
      `--config=${join(root, 'rsyncd.conf')}`,
      '--address=127.0.0.1',
      `--port=${port}`,
      '--log-file=/dev/null',
    ],
    { stdio: 'ignore' },
  );
  return { proc, port };
}
