/**
 * Reporters: the JSON run summary keeps its documented contract, the Markdown report has a task
 * table, measurements (CPU seconds, peak RSS of the process tree) are real, and a second run
 * predicts from the first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineYaml, type RunSummary, readSummary, type Workspace, workspace } from '../helpers/cli.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const TASK_STATUS = ['success', 'failed', 'skipped', 'cancelled'];
const CACHE = ['hit-local', 'hit-remote', 'miss', 'disabled'];

// Burns 0.4 s of CPU in a grandchild of the task shell, whatever the machine's load.
const burn = `sh -c 'node -e "const t = process.cpuUsage(); while (process.cpuUsage(t).user < 400000) {}"'; true`;

const tasks = {
  compile: { run: 'echo compiling; sleep 0.3' },
  burn: { run: burn, needs: ['compile'] },
  lint: { run: 'echo lint ok' },
  broken: { run: 'exit 4', needs: ['lint'] },
  blocked: { run: 'true', needs: ['broken'] },
};

let w: Workspace;
let exitCode: number | null;
let s: ReturnType<typeof readSummary>;

beforeAll(async () => {
  w = workspace(pipelineYaml(tasks));
  const r = await w.run([
    'run',
    '-c',
    '3',
    '--continue',
    '--summary',
    'summary.json',
    '--markdown',
    'report.md',
  ]);
  exitCode = r.code;
  s = readSummary(w);
});
afterAll(() => w?.cleanup());

describe('run summary (the --summary contract)', () => {
  it('has the top-level fields with their types', () => {
    expect(exitCode).toBe(1);
    expect(s.version).toBe(1);
    expect(typeof s.id).toBe('string');
    expect(s.id.length).toBeGreaterThan(0);
    expect(s.status).toBe('failed');
    expect(s.startedAt).toMatch(ISO);
    expect(s.endedAt).toMatch(ISO);
    expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    for (const k of ['durationMs', 'lowerBoundMs', 'predictedMakespanMs'] as const) {
      expect(typeof s[k], k).toBe('number');
      expect(s[k], k).toBeGreaterThanOrEqual(0);
    }
    expect(s.concurrency).toBe(3);
    // durationMs is the wall time between the two timestamps (rounding aside).
    expect(Math.abs(s.durationMs - (Date.parse(s.endedAt) - Date.parse(s.startedAt)))).toBeLessThanOrEqual(
      50,
    );
  });

  it('criticalPath is a chain of task ids along real dependencies', () => {
    expect(Array.isArray(s.criticalPath)).toBe(true);
    expect(s.criticalPath.length).toBeGreaterThan(0);
    for (const id of s.criticalPath) expect(Object.keys(tasks)).toContain(id);
    for (let i = 1; i < s.criticalPath.length; i++) {
      const t = tasks[s.criticalPath[i] as keyof typeof tasks] as { needs?: string[] };
      expect(t.needs ?? []).toContain(s.criticalPath[i - 1]);
    }
  });

  it('lists every task once with the contract fields', () => {
    expect(s.tasks.map((t) => t.id).sort()).toEqual(Object.keys(tasks).sort());
    for (const t of s.tasks) {
      expect(TASK_STATUS).toContain(t.status);
      expect(CACHE).toContain(t.cache);
      expect(t.startedAt, t.id).toMatch(ISO);
      expect(t.endedAt, t.id).toMatch(ISO);
      for (const k of ['durationMs', 'predictedMs', 'cpuSeconds', 'peakRssBytes'] as const) {
        expect(typeof t[k], `${t.id}.${k}`).toBe('number');
        expect(t[k], `${t.id}.${k}`).toBeGreaterThanOrEqual(0);
      }
      expect(t.exitCode === null || typeof t.exitCode === 'number').toBe(true);
      if (t.hash !== undefined) expect(typeof t.hash).toBe('string');
    }
  });

  it('statuses and exit codes say what happened', () => {
    expect(s.byId.get('compile')).toMatchObject({ status: 'success', exitCode: 0 });
    expect(s.byId.get('burn')).toMatchObject({ status: 'success', exitCode: 0 });
    expect(s.byId.get('lint')).toMatchObject({ status: 'success', exitCode: 0 });
    expect(s.byId.get('broken')).toMatchObject({ status: 'failed', exitCode: 4 });
    expect(s.byId.get('blocked')).toMatchObject({ status: 'skipped', exitCode: null });
  });

  it('measures CPU seconds and peak RSS of the whole process tree', () => {
    const b = s.byId.get('burn')!;
    // The grandchild burned 0.4 s of CPU; sampling may miss its last moments.
    expect(b.cpuSeconds).toBeGreaterThanOrEqual(0.2);
    // A node process holds well over 10 MB resident.
    expect(b.peakRssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});

describe('Markdown report (--markdown FILE)', () => {
  it('has a table with one row per task and its status', () => {
    const md = w.read('report.md');
    const rows = md.split('\n').filter((l) => l.trim().startsWith('|'));
    expect(rows.length).toBeGreaterThanOrEqual(2 + Object.keys(tasks).length);
    expect(rows[0]).toMatch(/Task/);
    expect(rows[1]).toMatch(/^\|\s*:?-+/);
    for (const [id, status] of [
      ['compile', 'success'],
      ['broken', 'failed'],
      ['blocked', 'skipped'],
    ] as const) {
      const row = rows.find((r) => r.includes(id));
      expect(row, `row for ${id}`).toBeDefined();
      expect(row).toContain(status);
    }
  });
});

describe('history feeds predictions', () => {
  it('a second run predicts each task from the first one instead of the prior', async () => {
    const w2 = workspace(pipelineYaml({ nap: { run: 'sleep 0.3' }, quick: { run: 'true', needs: ['nap'] } }));
    try {
      expect((await w2.run(['run', '--summary', 'first.json'])).code).toBe(0);
      const first = readSummary(w2, 'first.json');
      expect((await w2.run(['run', '--force', '--summary', 'second.json'])).code).toBe(0);
      const second: RunSummary & { byId: Map<string, RunSummary['tasks'][number]> } = readSummary(
        w2,
        'second.json',
      );
      const measured = first.byId.get('nap')!.durationMs;
      const predicted = second.byId.get('nap')!.predictedMs;
      // One sample: the prediction is that sample.
      expect(Math.abs(predicted - measured)).toBeLessThanOrEqual(1);
      expect(second.predictedMakespanMs).toBeGreaterThanOrEqual(predicted);
    } finally {
      w2.cleanup();
    }
  });
});
