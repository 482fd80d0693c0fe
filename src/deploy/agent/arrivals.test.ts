import { describe, expect, it } from 'vitest';
import { states } from '../../../test/helpers/promise-states.js';
import type { ChunkId } from '../types.js';
import { Arrivals } from './arrivals.js';

const id = (c: string) => c.repeat(64) as ChunkId;

describe('Arrivals', () => {
  it('holds a waiter until its chunk arrived, and lets through chunks not being fetched', async () => {
    const a = new Arrivals([id('a'), id('b')]);
    const waits = [a.wait(id('a')), a.wait(id('b')), a.wait(id('c'))];
    expect(await states(waits)).toEqual(['pending', 'pending', 'resolved']);
    a.arrived(id('b'));
    expect(await states(waits)).toEqual(['pending', 'resolved', 'resolved']);
    expect(await a.wait(id('b'))).toBe(id('b'));
  });

  it('releases every waiter when the transfer ends well, and rejects the unserved when it failed', async () => {
    const ok = new Arrivals([id('a')]);
    const w = ok.wait(id('a'));
    ok.end();
    expect(await states([w, ok.wait(id('a'))])).toEqual(['resolved', 'resolved']);

    const bad = new Arrivals([id('a'), id('b')]);
    bad.arrived(id('a'));
    const waits = [bad.wait(id('b')), bad.wait(id('a'))];
    bad.end('origin unreachable');
    expect(await states(waits)).toEqual(['rejected', 'resolved']);
    await expect(bad.wait(id('b'))).rejects.toThrow('origin unreachable');
  });
});
