/**
 * The executor through the CLI: secrets redacted, the pipeline folder as root, SIGTERM handled
 * like Ctrl-C, and a clear error when a task cannot start. Packing into the pool is tested in
 * process (unit-executor.test.ts).
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  pipelineYaml,
  readPid,
  readSummary,
  STACK_FRAME,
  type Workspace,
  waitFor,
  workspace,
} from '../helpers/cli.js';

const made: Workspace[] = [];
const pids: number[] = [];
afterAll(() => {
  for (const p of pids) killTree(p);
  for (const w of made) w.cleanup();
});
function ws(yaml: string): Workspace {
  const w = workspace(yaml);
  made.push(w);
  return w;
}

describe('task environment', () => {
  it('secrets are passed to the task but redacted in the output and the log', async () => {
    const w = ws(
      pipelineYaml({ deploy: { run: 'echo "token=$MY_TOKEN"; [ -n "$MY_TOKEN" ]', secrets: ['MY_TOKEN'] } }),
    );
    const r = await w.run(['run', '--summary', 'summary.json'], { env: { MY_TOKEN: 's3cr3t-v4lue' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain('token=');
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-v4lue');
    const s = readSummary(w);
    expect(w.read(`.slipway/logs/${s.id}/deploy.log`)).not.toContain('s3cr3t-v4lue');
    expect(w.read('summary.json')).not.toContain('s3cr3t-v4lue');
  });

  it('-f sub/slipway.yml: the pipeline folder is the root (default cwd, .slipway/ lives there)', async () => {
    const w = ws('');
    w.pipeline(pipelineYaml({ where: { run: 'pwd > where.txt' } }), 'sub/slipway.yml');
    const r = await w.run(['-f', 'sub/slipway.yml', 'run']);
    expect(r.code, r.stderr).toBe(0);
    expect(w.read('sub/where.txt').trim()).toBe(w.path('sub'));
    expect(existsSync(w.path('sub', '.slipway', 'history.db'))).toBe(true);
    expect(existsSync(w.path('.slipway'))).toBe(false);
  });

  it('a cwd that does not exist is reported as such, not as a missing /bin/sh', async () => {
    const w = ws(pipelineYaml({ lost: { run: 'true', cwd: 'no-such-dir' } }));
    const r = await w.run(['run']);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toContain('no-such-dir');
    expect(out).not.toMatch(/\/bin\/sh ENOENT/);
    expect(out).not.toMatch(STACK_FRAME);
  });
});

describe('SIGTERM mid-run', () => {
  it('is handled like Ctrl-C: task trees killed, run recorded as cancelled', async () => {
    const w = ws(
      pipelineYaml({ long: { run: "echo $$ > long.pid; sh -c 'echo $$ > gc.pid; exec sleep 30' & wait" } }),
    );
    const cli = w.spawn(['run']);
    const ids = await waitFor(
      () => {
        const got = [readPid(w.path('long.pid')), readPid(w.path('gc.pid'))];
        return got.every((p) => p !== undefined) ? (got as number[]) : undefined;
      },
      { what: 'the task and its grandchild to start' },
    );
    pids.push(...ids);
    cli.child.kill('SIGTERM');
    const r = await cli.done;
    expect(r.code !== null && r.code !== 0, `exit ${r.code} ${r.signal}`).toBe(true);
    await waitFor(() => ids.every((p) => !isAlive(p)), {
      timeoutMs: 15_000,
      what: 'task processes to be gone',
    });
    const h = await w.run(['history', '--json']);
    const runs = JSON.parse(h.stdout) as { status: string }[];
    expect(runs.map((x) => x.status)).toEqual(['cancelled']);
  });
});
