import { describe, expect, it } from 'vitest';
import { readSeries } from './series-input.js';

describe('series input', () => {
  it('reads CSV with quoted fields, a BOM, CRLF and empty cells; sorts rows by time', () => {
    const csv =
      '\uFEFFtime,commit,"note",ms\r\n' +
      '2026-01-03,c3,"late, but fine",30\r\n' +
      '2026-01-01,c1,"says ""hi""",10\r\n' +
      '2026-01-02,c2,x,\r\n';
    const r = readSeries(csv);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.rows).toBe(3);
    expect(r.series.map((s) => s.metric)).toEqual(['ms']);
    expect(r.series[0]!.points.map((p) => [p.value, p.line, p.attributes])).toEqual([
      [10, 3, { commit: 'c1', note: 'says "hi"' }],
      [30, 2, { commit: 'c3', note: 'late, but fine' }],
    ]);
  });

  it('accepts ISO times, epoch seconds and milliseconds, and Otava\u2019s sample format', () => {
    const csv = 'time,v\n2026.01.01 3:00:00 +0100,1\n1767232800,2\n1767236400000,3\n2026-01-01T04:00:00Z,4\n';
    const r = readSeries(csv);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.series[0]!.points.map((p) => [new Date(p.time).toISOString(), p.value])).toEqual([
      ['2026-01-01T02:00:00.000Z', 1],
      ['2026-01-01T02:00:00.000Z', 2],
      ['2026-01-01T03:00:00.000Z', 3],
      ['2026-01-01T04:00:00.000Z', 4],
    ]);
  });

  it('locates problems: a short row, a bad time, a word in a chosen metric column', () => {
    expect(readSeries('time,a,b\n2026-01-01,1\n')).toMatchObject({
      ok: false,
      problem: { line: 2, message: '2 values for 3 columns' },
    });
    expect(readSeries('time,a\nsoon,1\n')).toMatchObject({ ok: false, problem: { line: 2, col: 1 } });
    expect(readSeries('time,a\n2026-01-01,1\n2026-01-02,n/a\n', { metrics: ['a'] })).toMatchObject({
      ok: false,
      problem: { line: 3, col: 12, message: '"n/a" in column "a" is not a number' },
    });
    expect(readSeries('')).toMatchObject({ ok: false, problem: { line: 1, message: 'the file is empty' } });
  });

  it('reads JSON lines: numbers are metrics, strings are attributes, null is missing', () => {
    const jsonl = [
      '{"time":"2026-01-01","sha":"a","mb_s":5}',
      '',
      '{"time":"2026-01-02","sha":"b","mb_s":null}',
    ].join('\n');
    const r = readSeries(jsonl);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.series).toEqual([
      { metric: 'mb_s', points: [expect.objectContaining({ value: 5, attributes: { sha: 'a' } })] },
    ]);
    expect(readSeries('{"time": 1}\n[1]\n', { format: 'jsonl' })).toMatchObject({
      ok: false,
      problem: { line: 2 },
    });
  });
});
