/**
 * The executor in process, through a scripted TaskRunner (test/helpers/fake-runner.ts) and a
 * fixed clock: which tasks start in what order, what runs side by side, retries, what a failure
 * or a cancellation does to the rest. No process is spawned and nothing reads the time; the CLI
 * tests keep what only the CLI shows (exit codes, output, real process trees).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { CacheLookup, TaskCache, TaskHash } from '../../src/cache/types.js';
import { capacityFor } from '../../src/config/capacity.js';
import { parsePipeline } from '../../src/config/load.js';
import { EventStream, type RunEvent } from '../../src/events.js';
import { type RunGraphResult, runGraph } from '../../src/exec/executor.js';
import { attemptFailure } from '../../src/exec/runner.js';
import { TaskGraph } from '../../src/graph/graph.js';
import { predict } from '../../src/plan/predict.js';
import { describeFailure, statusOf, type TaskFailure } from '../../src/task-failure.js';
import { FakeRunner } from '../helpers/fake-runner.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Finished = Extract<RunEvent, { type: 'task-finished' }>;

interface Execution {
  result: RunGraphResult;
  events: RunEvent[];
  finished: Map<string, Finished>;
  /** Ids in the order their first attempt started. */
  starts: string[];
}

interface ExecuteOptions {
  runner: FakeRunner;
  top?: Record<string, unknown>;
  slots?: number;
  /** Predicted durations (ms) that replace the prior. */
  predictedMs?: Record<string, number>;
  continueOnFailure?: boolean;
  signal?: AbortSignal;
  cache?: TaskCache;
  settled?: Map<string, CacheLookup>;
  /** Called with the stream before the run starts. */
  watch?: (events: EventStream<RunEvent>) => void;
}

/** Runs tasks written as in slipway.yml through the executor, with a clock stuck at 0. */
async function execute(
  tasks: Record<string, Record<string, unknown>>,
  o: ExecuteOptions,
): Promise<Execution> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-exec-'));
  dirs.push(dir);
  const pipeline = parsePipeline(
    'slipway.yml',
    path.join(dir, 'slipway.yml'),
    stringify({ version: 1, ...o.top, tasks }),
  );
  const graph = TaskGraph.fromPipeline(pipeline);
  const predictions = await predict(undefined, pipeline, graph);
  for (const [id, ms] of Object.entries(o.predictedMs ?? {})) predictions.get(id)!.durationMs = ms;
  const events = new EventStream<RunEvent>();
  const seen: RunEvent[] = [];
  events.subscribe((e) => seen.push(e));
  o.watch?.(events);
  const result = await runGraph({
    runId: 'r1',
    pipeline,
    graph,
    capacity: capacityFor(pipeline, o.slots ?? 2),
    predictions,
    events,
    runner: o.runner,
    env: {},
    logDir: path.join(dir, 'logs'),
    now: () => 0,
    ...(o.cache ? { cache: o.cache } : {}),
    ...(o.settled ? { settled: o.settled } : {}),
    ...(o.continueOnFailure ? { continueOnFailure: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const finished = new Map(
    seen.filter((e): e is Finished => e.type === 'task-finished').map((e) => [e.taskId, e]),
  );
  const starts = [...new Set(seen.flatMap((e) => (e.type === 'task-started' ? [e.taskId] : [])))];
  return { result, events: seen, finished, starts };
}

/** Attempt spans as positions in the runner's log: two tasks overlap when each starts before the other ends. */
function overlap(log: readonly string[], a: string, b: string): boolean {
  const at = (x: string) => log.indexOf(x);
  return at(`start ${a}`) < at(`end ${b}`) && at(`start ${b}`) < at(`end ${a}`);
}

/**
 * Waits, turn by turn of the event loop, until `cond` holds. The executor's file work (logs,
 * the cache) runs on libuv's thread pool, which a loaded machine can hold up for many thousand
 * turns: the deadline is generous, there to end a hang, not to judge speed.
 */
async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const statuses = (x: Execution) => Object.fromEntries([...x.finished].map(([id, e]) => [id, e.status]));

describe('order: dependencies, then the highest upward rank', () => {
  it('one slot: the task heading the longest remaining path starts first', async () => {
    const runner = new FakeRunner();
    const x = await execute(
      {
        long: { run: 'x' },
        z1: { run: 'x' },
        z2: { run: 'x', needs: ['z1'] },
        z3: { run: 'x', needs: ['z2'] },
        a2: { run: 'x' },
      },
      { runner, slots: 1, predictedMs: { long: 5000, z1: 1000, z2: 1000, z3: 1000, a2: 1000 } },
    );
    // Ranks: long 5000, z1 3000, z2 2000, then z3 and a2 tie at 1000 (equal length: by id).
    expect(x.starts).toEqual(['long', 'z1', 'z2', 'a2', 'z3']);
    expect(x.result.status).toBe('success');
  });

  it('a diamond with two slots: b and c side by side, d after both', async () => {
    const runner = new FakeRunner();
    const x = await execute(
      {
        a: { run: 'x' },
        b: { run: 'x', needs: ['a'] },
        c: { run: 'x', needs: ['a'] },
        d: { run: 'x', needs: ['b', 'c'] },
      },
      { runner, slots: 2 },
    );
    const { log } = runner;
    expect(log.indexOf('start b')).toBeGreaterThan(log.indexOf('end a'));
    expect(log.indexOf('start c')).toBeGreaterThan(log.indexOf('end a'));
    expect(overlap(log, 'b', 'c')).toBe(true);
    expect(log.indexOf('start d')).toBeGreaterThan(Math.max(log.indexOf('end b'), log.indexOf('end c')));
    expect(statuses(x)).toEqual({ a: 'success', b: 'success', c: 'success', d: 'success' });
  });

  it('the same diamond with one slot runs one task at a time', async () => {
    const runner = new FakeRunner();
    await execute(
      {
        a: { run: 'x' },
        b: { run: 'x', needs: ['a'] },
        c: { run: 'x', needs: ['a'] },
        d: { run: 'x', needs: ['b', 'c'] },
      },
      { runner, slots: 1 },
    );
    expect(runner.log.map((l) => l.split(' ')[0])).toEqual([
      'start',
      'end',
      'start',
      'end',
      'start',
      'end',
      'start',
      'end',
    ]);
  });
});

describe('packing into the pool (resources as declared in slipway.yml)', () => {
  it('a task declaring the whole cpu pool never overlaps another; 1-cpu tasks do overlap', async () => {
    const runner = new FakeRunner();
    await execute(
      { wide: { run: 'x', resources: { cpu: 2 } }, x: { run: 'x' }, y: { run: 'x' } },
      { runner, slots: 2, top: { resources: { cpu: 2 } } },
    );
    expect(overlap(runner.log, 'wide', 'x')).toBe(false);
    expect(overlap(runner.log, 'wide', 'y')).toBe(false);
    expect(overlap(runner.log, 'x', 'y')).toBe(true);
  });

  it('tasks whose memory requests do not fit together run one after the other', async () => {
    const runner = new FakeRunner();
    await execute(
      {
        m1: { run: 'x', resources: { memory: '600MiB' } },
        m2: { run: 'x', resources: { memory: '600MiB' } },
        small: { run: 'x', resources: { memory: '100MiB' } },
      },
      { runner, slots: 3, top: { resources: { memory: '1GiB' } } },
    );
    expect(overlap(runner.log, 'm1', 'm2')).toBe(false);
    expect(overlap(runner.log, 'small', 'm1') || overlap(runner.log, 'small', 'm2')).toBe(true);
  });

  it('backfill: a short task fills the gap before a blocked wide task; a long one waits', async () => {
    // `long` holds one cpu of two. Once `gate` is done, `wide` (2 cpus, highest rank) cannot
    // start before `long` ends, so it reserves that moment: `short` (ends well before it) may
    // use the free cpu now, `slow` (would still run then) may not.
    const runner = new FakeRunner({ long: { hold: true } });
    const run = execute(
      {
        long: { run: 'x' },
        gate: { run: 'x' },
        wide: { run: 'x', needs: ['gate'], resources: { cpu: 2 } },
        after: { run: 'x', needs: ['wide'] },
        short: { run: 'x', needs: ['gate'] },
        slow: { run: 'x', needs: ['gate'] },
      },
      {
        runner,
        slots: 3,
        top: { resources: { cpu: 2 } },
        predictedMs: { long: 60_000, gate: 1, wide: 1000, after: 200_000, short: 10, slow: 120_000 },
      },
    );
    await until(() => runner.log.includes('end short'));
    expect(runner.running()).toEqual(['long']);
    expect(runner.log).not.toContain('start wide');
    expect(runner.log).not.toContain('start slow');
    runner.release('long');
    const x = await run;
    const { log } = runner;
    expect(log.indexOf('start wide')).toBeGreaterThan(log.indexOf('end long'));
    expect(log.indexOf('start wide')).toBeLessThan(log.indexOf('start slow'));
    expect(x.result.status).toBe('success');
  });
});

describe('retries', () => {
  it('retries: 1 turns a first-attempt failure into success with attempts 2', async () => {
    const runner = new FakeRunner({ flaky: [{ exit: 1 }, { exit: 0 }] });
    const x = await execute(
      { flaky: { run: 'x', retries: 1 }, next: { run: 'x', needs: ['flaky'] } },
      { runner },
    );
    expect(x.finished.get('flaky')).toMatchObject({ status: 'success', exitCode: 0, attempts: 2 });
    expect(x.finished.get('flaky')?.failure).toBeUndefined();
    expect(x.events.filter((e) => e.type === 'task-retry')).toMatchObject([
      { taskId: 'flaky', attempt: 1, exitCode: 1 },
    ]);
    expect(x.finished.get('next')?.status).toBe('success');
  });

  it('without retries the same task fails after one attempt', async () => {
    const runner = new FakeRunner({ flaky: [{ exit: 1 }, { exit: 0 }] });
    const x = await execute({ flaky: { run: 'x' } }, { runner });
    expect(x.finished.get('flaky')).toMatchObject({
      status: 'failed',
      attempts: 1,
      failure: { reason: 'exit-non-zero', code: 1 },
    });
    expect(runner.attempts('flaky')).toBe(1);
  });

  it('retries are bounded: always failing with retries: 2 makes 3 attempts', async () => {
    const runner = new FakeRunner({ never: { exit: 2 } });
    const x = await execute({ never: { run: 'x', retries: 2 } }, { runner });
    expect(x.finished.get('never')).toMatchObject({ status: 'failed', attempts: 3, exitCode: 2 });
    expect(runner.attempts('never')).toBe(3);
  });
});

describe('failure propagation', () => {
  // bad fails at once; dep and dep2 depend on it; slow is running meanwhile; after needs slow.
  const tasks = {
    bad: { run: 'x' },
    dep: { run: 'x', needs: ['bad'] },
    dep2: { run: 'x', needs: ['dep'] },
    slow: { run: 'x' },
    after: { run: 'x', needs: ['slow'] },
  };
  const predictedMs = { bad: 1, dep: 1, dep2: 1, slow: 1, after: 1 };

  it('dependents are skipped as dependency-failed; running tasks finish; nothing new starts', async () => {
    const runner = new FakeRunner({ bad: { exit: 3 }, slow: { hold: true } });
    let badDone = false;
    const run = execute(tasks, {
      runner,
      predictedMs,
      watch: (ev) => ev.subscribe((e) => (badDone ||= e.type === 'task-finished' && e.taskId === 'bad')),
    });
    await until(() => badDone);
    runner.release('slow');
    const x = await run;
    expect(x.result.status).toBe('failed');
    expect(statuses(x)).toEqual({
      bad: 'failed',
      dep: 'skipped',
      dep2: 'skipped',
      slow: 'success',
      after: 'skipped',
    });
    expect(x.finished.get('bad')).toMatchObject({
      exitCode: 3,
      failure: { reason: 'exit-non-zero', code: 3 },
    });
    expect(x.finished.get('dep')?.failure).toEqual({ reason: 'dependency-failed', dependency: 'bad' });
    expect(x.finished.get('dep2')?.failure).toEqual({ reason: 'dependency-failed', dependency: 'bad' });
    expect(x.finished.get('after')?.failure).toEqual({ reason: 'stopped-after-failure' });
    expect(x.starts.sort()).toEqual(['bad', 'slow']);
  });

  it('--continue runs everything that does not depend on the failure', async () => {
    const runner = new FakeRunner({ bad: { exit: 3 } });
    const x = await execute(tasks, { runner, predictedMs, continueOnFailure: true });
    expect(x.result.status).toBe('failed');
    expect(statuses(x)).toEqual({
      bad: 'failed',
      dep: 'skipped',
      dep2: 'skipped',
      slow: 'success',
      after: 'success',
    });
    expect(runner.log).not.toContain('start dep');
  });

  it('a task killed by a signal fails as signal; a timeout as timeout, with its limit', async () => {
    const runner = new FakeRunner({ oom: { signal: 'SIGKILL' }, hang: { hang: true } });
    const x = await execute(
      { oom: { run: 'x' }, hang: { run: 'x', timeout: '20ms' }, next: { run: 'x', needs: ['hang'] } },
      { runner, continueOnFailure: true },
    );
    expect(x.finished.get('oom')).toMatchObject({
      status: 'failed',
      exitCode: null,
      failure: { reason: 'signal', signal: 'SIGKILL' },
    });
    expect(x.finished.get('hang')).toMatchObject({
      status: 'failed',
      failure: { reason: 'timeout', ms: 20 },
    });
    expect(runner.requests.find((r) => r.taskId === 'hang')?.timeoutMs).toBe(20);
    expect(x.finished.get('next')?.failure).toEqual({ reason: 'dependency-failed', dependency: 'hang' });
  });

  it('a bug while handling a task (the cache throwing) fails that task as internal, not the run', async () => {
    const runner = new FakeRunner();
    const cache: TaskCache = {
      settle: async () => new Map(),
      lookup: async () => ({ hash: 'h' as TaskHash }),
      save: async () => {
        throw new Error('disk on fire');
      },
      flush: async () => {},
    };
    const x = await execute({ a: { run: 'x' }, b: { run: 'x', needs: ['a'] } }, { runner, cache });
    expect(x.finished.get('a')).toMatchObject({
      status: 'failed',
      failure: { reason: 'internal', message: 'disk on fire' },
    });
    expect(x.finished.get('b')?.status).toBe('skipped');
    expect(x.result.status).toBe('failed');
  });
});

describe('cancellation', () => {
  it('running tasks end cancelled, nothing else starts, the rest is cancelled', async () => {
    const runner = new FakeRunner({ one: { hold: true }, two: { hold: true } });
    const stop = new AbortController();
    const run = execute(
      { one: { run: 'x' }, two: { run: 'x' }, third: { run: 'x' }, later: { run: 'x', needs: ['one'] } },
      { runner, slots: 2, signal: stop.signal, predictedMs: { one: 100, two: 100, third: 1, later: 1 } },
    );
    await until(() => runner.running().length === 2);
    stop.abort();
    const x = await run;
    expect(x.result.status).toBe('cancelled');
    expect(statuses(x)).toEqual({
      one: 'cancelled',
      two: 'cancelled',
      third: 'cancelled',
      later: 'cancelled',
    });
    for (const e of x.finished.values()) expect(e.failure).toEqual({ reason: 'cancelled' });
    expect(x.starts.sort()).toEqual(['one', 'two']);
  });

  it('a cancelled attempt is not retried', async () => {
    const runner = new FakeRunner({ flaky: { hold: true } });
    const stop = new AbortController();
    const run = execute({ flaky: { run: 'x', retries: 3 } }, { runner, signal: stop.signal });
    await runner.started('flaky');
    stop.abort();
    const x = await run;
    expect(x.finished.get('flaky')).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(runner.attempts('flaky')).toBe(1);
  });
});

describe('cache hits', () => {
  it('settled tasks finish first without the runner; a hit in the loop replays its log', async () => {
    const runner = new FakeRunner();
    const hit = (log: string): CacheLookup => ({
      hash: `h-${log}` as TaskHash,
      hit: { source: 'local', log, savedMs: 5 },
    });
    const looked: string[] = [];
    const cache: TaskCache = {
      settle: async () => new Map(),
      lookup: async (task, deps) => {
        looked.push(`${task.id}(${[...deps.values()].join(',')})`);
        return task.id === 'b' ? hit('b') : { hash: `h-${task.id}` as TaskHash };
      },
      save: async () => {},
      flush: async () => {},
    };
    const x = await execute(
      { a: { run: 'x' }, b: { run: 'x', needs: ['a'] }, c: { run: 'x', needs: ['b'] } },
      { runner, cache, settled: new Map([['a', hit('a')]]) },
    );
    expect(statuses(x)).toEqual({ a: 'success', b: 'success', c: 'success' });
    expect(x.finished.get('a')).toMatchObject({ cache: 'hit-local', attempts: 0, exitCode: 0 });
    expect(x.finished.get('b')).toMatchObject({ cache: 'hit-local', attempts: 0 });
    expect(x.finished.get('c')).toMatchObject({ cache: 'miss', attempts: 1 });
    // Each lookup is told its dependencies' hashes.
    expect(looked).toEqual(['b(h-a)', 'c(h-b)']);
    expect(runner.log).toEqual(['start c', 'end c']);
    expect(x.events.filter((e) => e.type === 'task-output').map((e) => e.text)).toEqual(['a', 'b']);
  });
});

describe('TaskFailure', () => {
  const all: [TaskFailure, string, string][] = [
    [{ reason: 'exit-non-zero', code: 3 }, 'failed', 'exit code 3'],
    [{ reason: 'signal', signal: 'SIGKILL' }, 'failed', 'killed by SIGKILL'],
    [{ reason: 'timeout', ms: 5000 }, 'failed', 'timed out after 5000 ms'],
    [{ reason: 'spawn-error', message: 'no such dir' }, 'failed', 'could not start: no such dir'],
    [{ reason: 'internal', message: 'boom' }, 'failed', 'internal error: boom'],
    [{ reason: 'dependency-failed', dependency: 'a' }, 'skipped', 'dependency "a" failed'],
    [
      { reason: 'stopped-after-failure' },
      'skipped',
      'run stopped after a failure (use --continue to run independent tasks)',
    ],
    [{ reason: 'cancelled' }, 'cancelled', 'run cancelled'],
  ];
  it.each(all)('%j is %s: "%s"', (failure, status, text) => {
    expect(statusOf(failure)).toBe(status);
    expect(describeFailure(failure)).toBe(text);
  });

  it('the local runner maps a process result to a failure: cancellation first, then a clean exit', () => {
    const base = {
      exitCode: 1,
      signal: null,
      timedOut: false,
      cancelled: false,
      durationMs: 1,
      cpuSeconds: 0,
      peakRssBytes: 0,
    };
    expect(attemptFailure({ ...base, exitCode: 0 }, undefined)).toBeUndefined();
    expect(attemptFailure({ ...base, exitCode: 0, cancelled: true }, undefined)).toEqual({
      reason: 'cancelled',
    });
    expect(attemptFailure({ ...base, exitCode: 0, timedOut: true }, 10)).toBeUndefined();
    expect(attemptFailure({ ...base, exitCode: null, signal: 'SIGTERM', timedOut: true }, 10)).toEqual({
      reason: 'timeout',
      ms: 10,
    });
    expect(attemptFailure({ ...base, exitCode: null, signal: 'SIGKILL' }, undefined)).toEqual({
      reason: 'signal',
      signal: 'SIGKILL',
    });
    expect(attemptFailure({ ...base, exitCode: null, spawnError: 'ENOENT' }, undefined)).toEqual({
      reason: 'spawn-error',
      message: 'ENOENT',
    });
    expect(attemptFailure({ ...base, exitCode: 7 }, undefined)).toEqual({ reason: 'exit-non-zero', code: 7 });
  });
});
