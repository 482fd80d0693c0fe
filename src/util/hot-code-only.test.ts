/**
 * fewerCompiles (hot-code-only.ts): nested holds raise V8's interrupt budget to the largest factor
 * held, and the process's own budget is back once the last is released (the flag mocked: set for
 * real, it would change the test worker's compiles).
 */
import v8 from 'node:v8';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileHotCodeOnly, fewerCompiles } from './hot-code-only.js';
import { restoreV8Flags } from './v8-flags.js';

afterEach(() => {
  restoreV8Flags();
  vi.restoreAllMocks();
});

describe('fewerCompiles', () => {
  it('applies the largest factor held, and the own budget once none is', () => {
    const set = vi.spyOn(v8, 'setFlagsFromString').mockImplementation(() => {});
    compileHotCodeOnly();
    const budgets = () => set.mock.calls.map((c) => c[0]);
    set.mockClear();
    const eight = fewerCompiles();
    const sixtyFour = fewerCompiles(64);
    const again = fewerCompiles(8);
    expect(budgets()).toEqual(['--interrupt-budget=540672', '--interrupt-budget=4325376']);
    set.mockClear();
    sixtyFour();
    sixtyFour(); // released once only
    expect(budgets()).toEqual(['--interrupt-budget=540672']);
    set.mockClear();
    eight();
    expect(budgets()).toEqual([]); // another hold of 8x remains
    again();
    expect(budgets()).toEqual(['--interrupt-budget=270336']);
  });
});
