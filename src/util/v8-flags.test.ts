/**
 * Runtime V8 flags (v8-flags.ts): each flag's latest value is set again after a worker thread
 * started (which sets them back to the command line's), and none once they were put back.
 */
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { reapplyV8Flags, restoreV8Flags, setV8Flag, underStartupFlags } from './v8-flags.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runtime V8 flags', () => {
  it('sets each changed flag again at its latest value, and none after they were put back', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => {});
    setV8Flag('semi-space-growth-factor', 4);
    setV8Flag('heap-growing-percent', 35);
    setV8Flag('semi-space-growth-factor', 1);
    expect(set).toHaveBeenCalledTimes(3);
    set.mockClear();
    reapplyV8Flags();
    expect(set.mock.calls.map((c) => c[0]).sort()).toEqual([
      '--heap-growing-percent=35',
      '--semi-space-growth-factor=1',
    ]);
    set.mockClear();
    expect(restoreV8Flags()).toBe(true);
    expect(set.mock.calls.map((c) => c[0]).sort()).toEqual([
      '--heap-growing-percent=0',
      '--semi-space-growth-factor=2',
    ]);
    set.mockClear();
    reapplyV8Flags();
    expect(set).not.toHaveBeenCalled();
  });

  it('runs a function under the start-up values, then sets the changed ones back', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => {});
    setV8Flag('interrupt-budget', 270_336);
    set.mockClear();
    const inside = underStartupFlags(() => set.mock.calls.map((c) => c[0]));
    expect(inside).toEqual(['--interrupt-budget=67584']);
    expect(set.mock.calls.map((c) => c[0])).toEqual([
      '--interrupt-budget=67584',
      '--interrupt-budget=270336',
    ]);
    set.mockClear();
    expect(() =>
      underStartupFlags(() => {
        throw new Error('x');
      }),
    ).toThrow('x');
    expect(set.mock.calls.at(-1)?.[0]).toBe('--interrupt-budget=270336');
    restoreV8Flags();
  });
});
