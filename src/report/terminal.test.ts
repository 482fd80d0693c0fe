/**
 * The terminal reporter in process: what each `--output-logs` mode prints for a cache hit, a task
 * that ran and a failed task; GitHub Actions groups; colours under NO_COLOR and FORCE_COLOR.
 */
import { describe, expect, it } from 'vitest';
import { EventStream, type RunEvent } from '../events.js';
import { colourChoice } from '../util/colour.js';
import type { OutputLogs } from './output-logs.js';
import { attachTerminalReporter, type TerminalOptions } from './terminal.js';

const RED = '\x1b[31m';
// biome-ignore lint/suspicious/noControlCharactersInRegex: counting colour escape codes
const ESC = /\x1b\[/g;

/** A run of three tasks: `hit` from the cache (log replayed), `built` ran, `broken` failed. */
function play(o: Omit<TerminalOptions, 'out'>): string {
  let text = '';
  const events = new EventStream<RunEvent>();
  const detach = attachTerminalReporter(events, { out: { write: (s) => (text += s) }, ...o });
  const runId = 'r1';
  const base = { runId, at: 1, startedAt: 1, exitCode: 0, predictedMs: 100, cpuSeconds: 0, peakRssBytes: 0 };
  events.emit({
    type: 'run-started',
    runId,
    pipeline: 'demo',
    at: 0,
    tasks: ['hit', 'built', 'broken'].map((id) => ({
      id,
      predictedMs: 100,
      predictedStartMs: 0,
      cpu: 1,
      memory: 1,
    })),
    concurrency: 2,
    capacity: { slots: 2, cpu: 2, memory: 1 },
    predictedMakespanMs: 100,
    lowerBoundMs: 100,
    criticalPath: [],
    argv: [],
  });
  events.emit({ type: 'task-started', runId, taskId: 'hit', at: 1, attempt: 0, predictedMs: 100 });
  events.emit({ type: 'cache-hit', runId, taskId: 'hit', at: 1, source: 'local', hash: 'h1', savedMs: 50 });
  events.emit({ type: 'task-output', runId, taskId: 'hit', stream: 'stdout', text: 'replayed line\n' });
  events.emit({
    ...base,
    type: 'task-finished',
    taskId: 'hit',
    status: 'success',
    cache: 'hit-local',
    hash: 'aaaa1111',
    durationMs: 3,
    attempts: 0,
  });
  events.emit({ type: 'task-started', runId, taskId: 'built', at: 1, attempt: 1, predictedMs: 100 });
  events.emit({ type: 'task-output', runId, taskId: 'built', stream: 'stdout', text: 'new line\n' });
  events.emit({
    ...base,
    type: 'task-finished',
    taskId: 'built',
    status: 'success',
    cache: 'miss',
    hash: 'bbbb2222',
    durationMs: 20,
    attempts: 1,
  });
  events.emit({ type: 'task-started', runId, taskId: 'broken', at: 1, attempt: 1, predictedMs: 100 });
  events.emit({
    type: 'task-output',
    runId,
    taskId: 'broken',
    stream: 'stderr',
    text: `${RED}error line\x1b[39m\n`,
  });
  events.emit({
    ...base,
    type: 'task-finished',
    taskId: 'broken',
    status: 'failed',
    cache: 'miss',
    hash: 'cccc3333',
    exitCode: 2,
    durationMs: 20,
    attempts: 1,
    failure: { reason: 'exit-non-zero', code: 2 },
    logFile: '/logs/broken.log',
  });
  events.emit({ type: 'run-finished', runId, at: 2, status: 'failed', durationMs: 30, lowerBoundMs: 20 });
  detach();
  return text;
}

const mode = (m: OutputLogs) => play({ live: false, outputLogs: () => m });

describe('--output-logs', () => {
  it('full: every output line, the cache hit replayed', () => {
    const out = mode('full');
    expect(out).toContain('hit | replayed line');
    expect(out).toContain('built | new line');
    expect(out).toContain('broken | ');
    expect(out).toContain('error line');
  });

  it('new-only: the output of tasks that ran; a hit is its one status line', () => {
    const out = mode('new-only');
    expect(out).not.toContain('replayed line');
    expect(out).toMatch(/✓ hit cache hit \(local\)/);
    expect(out).toContain('built | new line');
    expect(out).toContain('error line');
  });

  it('errors-only: only the failed task shows its output, with its log path', () => {
    const out = mode('errors-only');
    expect(out).not.toContain('replayed line');
    expect(out).not.toContain('new line');
    expect(out).toMatch(/✗ broken failed: exit code 2[^\n]*\nbroken \| .*error line/);
    expect(out).toContain('log: /logs/broken.log');
  });

  it('hash-only: a line per task with its hash, no output', () => {
    const out = mode('hash-only');
    expect(out).not.toMatch(/replayed line|new line|error line/);
    for (const h of ['aaaa1111', 'bbbb2222', 'cccc3333']) expect(out).toContain(`hash ${h}`);
  });

  it('none: status lines only', () => {
    const out = mode('none');
    expect(out).not.toMatch(/replayed line|new line|error line|hash /);
    expect(out).toMatch(/✓ built/);
    expect(out).toMatch(/✗ broken failed/);
  });

  it('a mode per task: the one the function gives each task id', () => {
    const out = play({ live: false, outputLogs: (id) => (id === 'hit' ? 'full' : 'none') });
    expect(out).toContain('hit | replayed line');
    expect(out).not.toContain('new line');
  });

  it('a cache hit prints no "started" line, a task that runs does', () => {
    const out = mode('full');
    expect(out).not.toContain('▶ hit');
    expect(out).toContain('▶ built');
  });
});

describe('GitHub Actions log groups', () => {
  it('each task that ran is one collapsed group titled by its status line; a failure is in the open with an annotation', () => {
    const out = play({ live: false, github: true, outputLogs: () => 'new-only' });
    const lines = out.split('\n');
    const open = lines.findIndex((l) => l.startsWith('::group::✓ built'));
    expect(open).toBeGreaterThanOrEqual(0);
    expect(lines.slice(open + 1, open + 3)).toEqual(['new line', '::endgroup::']);
    // The hit has nothing to show under new-only: a plain line, no empty group.
    expect(out).toMatch(/^✓ hit cache hit/m);
    expect(out).not.toContain('::group::✓ hit');
    // The failure: status line, its output unfolded, then an error annotation.
    const fail = lines.findIndex((l) => l.startsWith('✗ broken failed'));
    expect(lines[fail + 1]).toContain('error line');
    expect(lines[fail + 2]).toBe('::error title=broken failed::exit code 2');
    expect(out.match(/::group::/g)).toHaveLength(1);
    expect(out.match(/::endgroup::/g)).toHaveLength(1);
  });

  it('full replays the hit inside its group too', () => {
    const out = play({ live: false, github: true, outputLogs: () => 'full' });
    expect(out).toMatch(/::group::✓ hit cache hit[^\n]*\nreplayed line\n::endgroup::/);
  });
});

describe('colours', () => {
  it('NO_COLOR: no escape code at all, even on a terminal and in task output', () => {
    const { colour, strip } = colourChoice({ NO_COLOR: '1' }, true);
    expect({ colour, strip }).toEqual({ colour: false, strip: true });
    const out = play({ live: false, colour, stripTaskColour: strip, outputLogs: () => 'full' });
    expect(out).toContain('error line');
    expect(out.match(ESC)).toBeNull();
  });

  it('FORCE_COLOR: colours without a terminal, and it wins over NO_COLOR', () => {
    expect(colourChoice({ FORCE_COLOR: '1' }, false)).toEqual({ colour: true, strip: false });
    expect(colourChoice({ FORCE_COLOR: '1', NO_COLOR: '1' }, false).colour).toBe(true);
    expect(colourChoice({ FORCE_COLOR: '0' }, true)).toEqual({ colour: false, strip: true });
    const out = play({ live: false, colour: true, outputLogs: () => 'full' });
    expect(out).toContain('\x1b[32m✓\x1b[39m built');
    expect(out).toContain(`${RED}error line`);
  });

  it('neither set: colours on a terminal only', () => {
    expect(colourChoice({}, true).colour).toBe(true);
    expect(colourChoice({}, false).colour).toBe(false);
    expect(colourChoice({ NO_COLOR: '' }, true).colour).toBe(true);
  });
});
