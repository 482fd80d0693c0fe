import { afterEach, describe, expect, it, vi } from 'vitest';
import { trace } from './trace.js';

describe('trace', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('prints nothing unless SLIPWAY_TRACE is set', () => {
    vi.stubEnv('SLIPWAY_TRACE', '');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    trace('quiet');
    expect(write).not.toHaveBeenCalled();
  });

  it('prints the wall and CPU times, the thread CPU where Linux tells it, the time of day and the label', () => {
    vi.stubEnv('SLIPWAY_TRACE', '1');
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      lines.push(String(s));
      return true;
    });
    trace('phase one');
    trace('phase two');
    expect(lines).toHaveLength(2);
    const shape =
      /^\[trace\] +[\d.]+ ms {2}cpu +[\d.]+ ms(?: {2}thread +([\d.]+) ms)? {2}rss +\d+ MB {2}\d\d:\d\d:\d\d\.\d{3} {2}phase one\n$/;
    const m = shape.exec(lines[0]!);
    expect(m).not.toBeNull();
    if (process.platform === 'linux') expect(m![1]).toBeDefined();
    expect(lines[1]!.endsWith('  phase two\n')).toBe(true);
  });
});
