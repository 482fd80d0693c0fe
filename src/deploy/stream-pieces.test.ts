import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { piecesOf } from './stream-pieces.js';

describe('piecesOf', () => {
  it('yields each written Buffer on its own, in order, not joined', async () => {
    const s = new PassThrough();
    const written = [Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('i')];
    // All written before the first read: a stream's own iterator would hand them over as one.
    for (const b of written) s.write(b);
    s.end();
    const got: Buffer[] = [];
    for await (const b of piecesOf(s)) got.push(b);
    expect(got.map(String)).toEqual(['abc', 'defgh', 'i']);
  });

  it('pauses the stream while the consumer lags and resumes it as it catches up', async () => {
    const s = new PassThrough({ highWaterMark: 4 });
    const it = piecesOf(s, 8)[Symbol.asyncIterator]();
    const first = it.next(); // attaches to the stream
    for (let i = 0; i < 5; i++) s.write(Buffer.alloc(4, i));
    const settle = async () => {
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    await settle();
    expect((await first).value).toHaveLength(4);
    // 16 bytes still waiting in the queue: over the high water of 8.
    expect(s.isPaused()).toBe(true);
    const rest: number[] = [];
    for (let i = 0; i < 4; i++) rest.push(((await it.next()).value as Buffer)[0]!);
    expect(rest).toEqual([1, 2, 3, 4]);
    expect(s.isPaused()).toBe(false);
    s.end();
    expect((await it.next()).done).toBe(true);
  });

  it('throws when the stream fails or closes before its end', async () => {
    const failing = new PassThrough();
    const seen: string[] = [];
    const run = (async () => {
      for await (const b of piecesOf(failing)) seen.push(String(b));
    })();
    failing.write('x');
    await new Promise((r) => setImmediate(r));
    failing.destroy(new Error('connection reset'));
    await expect(run).rejects.toThrow('connection reset');
    expect(seen).toEqual(['x']);

    const cut = new PassThrough();
    const run2 = (async () => {
      for await (const _ of piecesOf(cut));
    })();
    cut.write('y');
    await new Promise((r) => setImmediate(r));
    cut.destroy();
    await expect(run2).rejects.toThrow(/closed before its end/);
  });

  it('destroys the stream when the consumer stops early', async () => {
    const s = new PassThrough();
    s.write('a');
    s.write('b');
    for await (const _ of piecesOf(s)) break;
    expect(s.destroyed).toBe(true);
  });
});
