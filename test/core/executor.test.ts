/**
 * The executor through the CLI: multi-resource packing (cpu, memory) as declared in slipway.yml,
 * secrets redacted, the pipeline folder as root, SIGTERM handled like Ctrl-C, and a clear error
 * when a task cannot start.
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  isAlive,
  killTree,
  ms,
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

type Span = { start: number; end: number };
const overlaps = (p: Span, q: Span) => p.start < q.end && q.start < p.end;
function spans(s: ReturnType<typeof readSummary>): Map<string, Span> {
  return new Map(s.tasks.map((t) => [t.id, { start: ms(t.startedAt), end: ms(t.endedAt) }]));
}

describe('packing into the pool', () => {
  it('a task declaring the whole cpu pool never overlaps another; 1-cpu tasks do overlap', async () => {
    const w = ws(
      pipelineYaml(
        {
          wide: { run: 'sleep 0.3', resources: { cpu: 2 } },
          x: { run: 'sleep 0.3' },
          y: { run: 'sleep 0.3' },
        },
        { resources: { cpu: 2 } },
      ),
    );
    const r = await w.run(['run', '-c', '2', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const sp = spans(readSummary(w));
    expect(overlaps(sp.get('wide')!, sp.get('x')!)).toBe(false);
    expect(overlaps(sp.get('wide')!, sp.get('y')!)).toBe(false);
    expect(overlaps(sp.get('x')!, sp.get('y')!)).toBe(true);
  });

  it('tasks whose memory requests do not fit together run one after the other', async () => {
    const w = ws(
      pipelineYaml(
        {
          m1: { run: 'sleep 0.3', resources: { memory: '600MiB' } },
          m2: { run: 'sleep 0.3', resources: { memory: '600MiB' } },
          small: { run: 'sleep 0.3', resources: { memory: '100MiB' } },
        },
        { resources: { memory: '1GiB' } },
      ),
    );
    const r = await w.run(['run', '-c', '3', '--summary', 'summary.json']);
    expect(r.code, r.stderr).toBe(0);
    const sp = spans(readSummary(w));
    expect(overlaps(sp.get('m1')!, sp.get('m2')!)).toBe(false);
    // small fits next to either one.
    expect(overlaps(sp.get('small')!, sp.get('m1')!) || overlaps(sp.get('small')!, sp.get('m2')!)).toBe(true);
  });
});

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
