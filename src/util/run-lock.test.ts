import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processStartTime } from './proc-start.js';
import { acquireLock, describeHolder, type LockHolder } from './run-lock.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function lockFile(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'slipway-run-lock-'));
  dirs.push(d);
  return path.join(d, 'run.lock');
}

/** Writes a lock as process `pid` would have (a live child, or a pid that has exited). */
function writeLock(file: string, pid: number, start = processStartTime(pid)): LockHolder {
  const h: LockHolder = {
    pid,
    host: os.hostname(),
    since: Date.now(),
    command: 'slipway run build',
    ...(start ? { start } : {}),
  };
  writeFileSync(file, JSON.stringify(h));
  return h;
}

const exited = async (): Promise<number> => {
  const c = spawn('true');
  await new Promise((r) => c.on('exit', r));
  return c.pid!;
};

describe('run lock', () => {
  it('is taken when free, names its holder, and is removed on release', async () => {
    const file = lockFile();
    const got = await acquireLock(file, { command: 'slipway run', wait: false });
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.value.waitedFor).toEqual([]);
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    expect(h).toMatchObject({ pid: process.pid, host: os.hostname(), command: 'slipway run' });
    // A second taker in the same checkout is refused while it is held.
    const second = await acquireLock(file, { command: 'x', wait: false });
    expect(second.ok).toBe(false);
    got.value.release();
    expect(existsSync(file)).toBe(false);
  });

  it('with wait: false, reports a live holder and leaves its lock alone', async () => {
    const file = lockFile();
    const holder = spawn('sleep', ['30']);
    children.push(holder);
    const h = writeLock(file, holder.pid!);
    const got = await acquireLock(file, { command: 'x', wait: false });
    expect(got).toEqual({ ok: false, error: { holder: h } });
    expect(describeHolder(h)).toMatch(new RegExp(`^pid ${holder.pid} \\(slipway run build, started `));
    expect(existsSync(file)).toBe(true);
  });

  it('waits for a live holder, saying whose lock it is, and gets it once the holder is gone', async () => {
    const file = lockFile();
    const holder = spawn('sleep', ['30']);
    children.push(holder);
    const h = writeLock(file, holder.pid!);
    const waited: LockHolder[] = [];
    const pending = acquireLock(file, {
      command: 'x',
      wait: true,
      pollMs: 20,
      onWait: (w) => waited.push(w),
    });
    // The holder is still alive while we look: the waiter has said so and not taken the lock.
    const until = Date.now() + 15_000;
    while (!waited.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(waited).toEqual([h]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(h);
    holder.kill('SIGKILL');
    const got = await pending;
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    expect(got.value.tookOver).toEqual(h);
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    got.value.release();
  });

  it('takes over at once a lock whose process is dead, or whose pid now names another process', async () => {
    const file = lockFile();
    const dead = writeLock(file, await exited(), '1');
    const got = await acquireLock(file, { command: 'x', wait: true, onWait: () => expect.fail('waited') });
    expect(got.ok && got.value.tookOver).toEqual(dead);
    if (got.ok) got.value.release();
    // Our own pid with another start time: a previous process that had the same pid.
    const reused = writeLock(file, process.pid, 'not-our-start-time');
    const again = await acquireLock(file, { command: 'x', wait: true, onWait: () => expect.fail('waited') });
    expect(again.ok && again.value.tookOver).toEqual(reused);
    if (again.ok) again.value.release();
  });

  it('does not remove a lock that is no longer its own on release', async () => {
    const file = lockFile();
    const got = await acquireLock(file, { command: 'x', wait: false });
    if (!got.ok) return expect.fail('not taken');
    const other = spawn('sleep', ['30']);
    children.push(other);
    writeLock(file, other.pid!); // taken over (e.g. after a hang long enough to look dead)
    got.value.release();
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(other.pid);
  });
});
