import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAlive, processStartTime } from '../util/proc-start.js';
import { GroupGuard, reapOrphans } from './process-guard.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function recordDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'slipway-procs-'));
  dirs.push(d);
  const procs = path.join(d, 'procs');
  mkdirSync(procs);
  return procs;
}

/** A process group of its own (as a task gets), leader `sleep`. */
function group(): number {
  const c = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}

async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.on('exit', r));
  return c.pid!;
}

const record = (dir: string, pgid: number, leaderStart: string, owner: number, ownerStart = '-') =>
  writeFileSync(path.join(dir, String(pgid)), `${leaderStart} ${owner} ${ownerStart}\n`);

async function gone(pid: number): Promise<boolean> {
  const until = Date.now() + 15_000;
  while (pidAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  return !pidAlive(pid);
}

describe.runIf(existsSync('/proc/self/stat'))('reapOrphans', () => {
  it("kills a dead run's live group and forgets it", async () => {
    const dir = recordDir();
    const pg = group();
    const owner = await deadPid();
    record(dir, pg, processStartTime(pg)!, owner);
    expect(await reapOrphans(dir, 200)).toEqual([{ pgid: pg, owner }]);
    expect(await gone(pg)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves alone a process that only has the recorded pid (another start time: pid reused)', async () => {
    const dir = recordDir();
    const pg = group();
    record(dir, pg, 'another-start-time', await deadPid());
    expect(await reapOrphans(dir, 200)).toEqual([]);
    expect(pidAlive(pg)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves alone the groups of a run that is still alive, and keeps their records', async () => {
    const dir = recordDir();
    const pg = group();
    const owner = group();
    record(dir, pg, processStartTime(pg)!, owner, processStartTime(owner)!);
    expect(await reapOrphans(dir, 200)).toEqual([]);
    expect(pidAlive(pg)).toBe(true);
    expect(readdirSync(dir)).toEqual([String(pg)]);
  });
});

describe('GroupGuard', () => {
  it('records each live group, and forgets it when it ends', () => {
    const dir = path.join(recordDir(), 'nested');
    const guard = new GroupGuard(dir);
    const pg = group();
    guard.started(pg);
    expect(readdirSync(dir)).toEqual([String(pg)]);
    guard.ended(pg);
    expect(readdirSync(dir)).toEqual([]);
    guard.close();
  });
});
