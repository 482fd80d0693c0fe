import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { isOutlineList, parseBody, prepareBody } from './requests.js';

describe('the outline of a prepare request', () => {
  // The zod schema the one-loop check stands for.
  const reference = z.array(z.string().min(1).max(4096)).max(1_000_000);

  it('accepts exactly what the zod schema accepts', () => {
    const sparse: unknown[] = ['a'];
    sparse[2] = 'b';
    const cases: unknown[] = [
      [],
      ['a', 'b/', 'b/c'],
      [''],
      ['a', ''],
      ['x'.repeat(4096)],
      ['x'.repeat(4097)],
      [`${'x'.repeat(4095)}/`],
      ['a', 1],
      ['a', null],
      [['a']],
      sparse,
      'a',
      null,
      undefined,
      42,
      { 0: 'a', length: 1 },
      new Array(1_000_000).fill('a'),
      new Array(1_000_001).fill('a'),
    ];
    for (const [i, v] of cases.entries())
      expect(isOutlineList(v), `case ${i}`).toBe(reference.safeParse(v).success);
  });

  it('refuses a bad outline as a 400 naming the field', () => {
    expect(parseBody(prepareBody, { outline: ['a', 'b/'] }, 'prepare')).toEqual({ outline: ['a', 'b/'] });
    expect(() => parseBody(prepareBody, { outline: ['a', ''] }, 'prepare')).toThrow(
      /bad prepare request at outline: a list of at most 1,000,000 paths/,
    );
    expect(() => parseBody(prepareBody, { outline: ['a'], extra: 1 }, 'prepare')).toThrow(
      /bad prepare request/,
    );
    expect(() => parseBody(prepareBody, {}, 'prepare')).toThrow(/bad prepare request at outline/);
  });
});
