import { describe, expect, it } from 'vitest';
import { states } from '../../../test/helpers/promise-states.js';
import type { ChunkId } from '../types.js';
import { InFlight } from './in-flight.js';

const id = (c: string) => c.repeat(64) as ChunkId;

describe('InFlight', () => {
  it('resolves the waiters of a chunk once it arrived, and rejects those of one that failed', async () => {
    const f = new InFlight();
    const waits = [f.wait(id('a')), f.wait(id('a')), f.wait(id('b'))];
    expect(waits[0]).toBe(waits[1]);
    expect(await states(waits)).toEqual(['pending', 'pending', 'pending']);
    f.arrived(id('a'));
    f.arrived(id('c')); // nobody waits: nothing to do
    expect(await states(waits)).toEqual(['resolved', 'resolved', 'pending']);
    f.failed(id('b'), new Error('transfer broke off'));
    expect(await states(waits)).toEqual(['resolved', 'resolved', 'rejected']);
    await expect(waits[2]).rejects.toThrow('transfer broke off');
  });

  it('raises no unhandled rejection for a waiter that has not looked yet', async () => {
    const f = new InFlight();
    const late = f.wait(id('a'));
    f.failed(id('a'), new Error('gone'));
    await new Promise((r) => setTimeout(r, 10));
    await expect(late).rejects.toThrow('gone');
  });
});
