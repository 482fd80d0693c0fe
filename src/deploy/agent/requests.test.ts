import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { deployBody, isDeltaBases, isEntryList, isOutlineList, parseBody, prepareBody } from './requests.js';

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

// JSON values only: request bodies are parsed JSON (a Date or a class instance never comes).
describe("a manifest delta's entries and delta bases", () => {
  const c = (n: number) => n.toString(16).padStart(64, '0');
  const chunkId = z.string().refine((s) => /^[0-9a-f]{64}$/.test(s));

  it('accepts exactly the entries the zod schema accepted', () => {
    const reference = z.array(z.record(z.string(), z.unknown())).max(1_000_000);
    const sparse: unknown[] = [{}];
    sparse[2] = {};
    const cases: unknown[] = [
      [],
      [{ type: 'file', path: 'a', mode: 420, size: 0, chunks: [] }],
      [{}, { a: 1 }],
      [{}, null],
      [{}, []],
      [{}, 'a'],
      [1],
      sparse,
      {},
      'a',
      null,
      new Array(1_000_000).fill({}),
      new Array(1_000_001).fill({}),
    ];
    for (const [i, v] of cases.entries())
      expect(isEntryList(v), `case ${i}`).toBe(reference.safeParse(v).success);
  });

  it('accepts exactly the bases the zod schema accepted', () => {
    const reference = z.record(chunkId, z.array(chunkId).min(1).max(8));
    const cases: unknown[] = [
      {},
      { [c(1)]: [c(2)] },
      { [c(1)]: [c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9)] },
      { [c(1)]: [c(2), c(3), c(4), c(5), c(6), c(7), c(8), c(9), c(10)] },
      { [c(1)]: [] },
      { [c(1)]: c(2) },
      { [c(1)]: [c(2).toUpperCase()] },
      { [c(1)]: [c(2)], short: [c(3)] },
      { [c(1)]: [null] },
      [],
      [[c(1)]],
      null,
      'a',
    ];
    for (const [i, v] of cases.entries())
      expect(isDeltaBases(v), `case ${i}`).toBe(reference.safeParse(v).success);
    // Stricter where zod passes over the key: a "__proto__" is no chunk id.
    expect(isDeltaBases(JSON.parse(`{"__proto__": ["${c(2)}"]}`))).toBe(false);
  });

  it('refuses a bad deploy body as a 400 naming the field', () => {
    const body = { protocol: 3, release: 'v2-0123456789ab', base: 'v1-0123456789ab' };
    const good = { ...body, upsert: [{ path: 'a' }], bases: { [c(1)]: [c(2)] } };
    expect(parseBody(deployBody, good, 'deploy')).toEqual(good);
    expect(() => parseBody(deployBody, { ...body, upsert: [{ path: 'a' }, 'b'] }, 'deploy')).toThrow(
      /bad deploy request at upsert: a list of at most 1,000,000 manifest entries/,
    );
    expect(() => parseBody(deployBody, { ...body, bases: { [c(1)]: [] } }, 'deploy')).toThrow(
      /bad deploy request at bases: chunk ids, each with a list of 1 to 8 chunk ids/,
    );
  });
});
