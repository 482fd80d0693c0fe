/**
 * Spare task shells (spare-shell.ts) through the real local runner: an attempt that starts on a
 * spare gets exactly its own folder and environment (not the spare's), keeps exit codes, signals
 * and timeouts, and a spare nobody uses ends with the runner and leaves no record behind.
 * Asserts what ran and where, never time.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GroupGuard } from './process-guard.js';
import { LocalRunner } from './runner.js';
import type { RunRequest } from './task-runner.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-spare-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(ok: () => boolean): Promise<void> {
  for (let i = 0; !ok(); i++) {
    if (i > 600) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function run(r: LocalRunner, o: Partial<RunRequest> & { command: string }) {
  const out: string[] = [];
  const a = await r.run({ taskId: 't', cwd: dir, env: process.env, onOutput: (_s, t) => out.push(t), ...o });
  return { ...a, output: out.join('') };
}

describe('spare task shells', () => {
  it("runs the next attempt on the spare, in the attempt's own folder and environment", async () => {
    const procs = path.join(dir, 'procs-1');
    const guard = new GroupGuard(procs);
    const r = new LocalRunner({ guard, spares: true });
    const first = await run(r, {
      command: 'echo "$GONE"',
      env: { PATH: process.env.PATH, GONE: 'first only', KEPT: 'same', CHANGED: 'before' },
    });
    expect(first.output).toBe('first only\n');
    await until(() => r.sparePid !== undefined);
    const spare = r.sparePid!;
    const sub = path.join(dir, "it's here");
    mkdirSync(sub);
    // $PPID is the task's shell: the spare started before this attempt was asked for.
    const second = await run(r, {
      command:
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, for the task's shell.
        'echo "$PPID|${GONE-unset}|$KEPT|$CHANGED|$NEW|${OLDPWD-unset}"; pwd; printf "%s" "$MULTI" | wc -l',
      cwd: sub,
      env: {
        PATH: process.env.PATH,
        KEPT: 'same',
        CHANGED: "after, with 'quotes' and $dollars",
        NEW: 'new',
        MULTI: 'a\nb\nc',
      },
    });
    expect(second.failure).toBeUndefined();
    const [line, pwd, lines] = second.output.trim().split('\n');
    expect(line).toBe(`${spare}|unset|same|after, with 'quotes' and $dollars|new|unset`);
    expect(pwd).toBe(sub);
    expect(lines?.trim()).toBe('2');
    r.close();
    guard.close();
  });

  it('keeps exit codes, signals and timeouts on a spare', async () => {
    const guard = new GroupGuard(path.join(dir, 'procs-2'));
    const r = new LocalRunner({ guard, spares: true });
    await run(r, { command: 'true' });
    await until(() => r.sparePid !== undefined);
    expect((await run(r, { command: 'exit 3' })).failure).toEqual({ reason: 'exit-non-zero', code: 3 });
    await until(() => r.sparePid !== undefined);
    expect((await run(r, { command: 'kill -TERM $$' })).failure).toEqual({
      reason: 'signal',
      signal: 'SIGTERM',
    });
    await until(() => r.sparePid !== undefined);
    expect((await run(r, { command: 'sleep 30', timeoutMs: 200 })).failure).toEqual({
      reason: 'timeout',
      ms: 200,
    });
    r.close();
    guard.close();
  });

  it('falls back to a fresh shell for a name a shell cannot set, and ends an unused spare on close', async () => {
    const procs = path.join(dir, 'procs-3');
    const guard = new GroupGuard(procs);
    const r = new LocalRunner({ guard, spares: true });
    await run(r, { command: 'true' });
    await until(() => r.sparePid !== undefined);
    const unused = r.sparePid!;
    const odd = await run(r, { command: 'echo "$PPID"', env: { PATH: process.env.PATH, 'A-B': 'x' } });
    expect(odd.failure).toBeUndefined();
    expect(Number(odd.output.trim())).not.toBe(unused);
    await until(() => !alive(unused));
    await until(() => r.sparePid !== undefined);
    const last = r.sparePid!;
    r.close();
    await until(() => !alive(last));
    guard.close();
    // Every group, the spares' too, was told to the guard and is off its records again.
    expect(readdirSync(procs)).toEqual([]);
  });
});
