import { describe, expect, it } from 'vitest';
import type { ChunkId } from '../types.js';
import { RecentChunks } from './recent-chunks.js';

const idOf = (n: number) => n.toString(16).padStart(64, '0') as ChunkId;
const chunk = (n: number, size: number) => Buffer.alloc(size, n % 251);

describe('RecentChunks', () => {
  it('keeps copies: the buffer lent when it was received is reused freely', () => {
    const r = new RecentChunks();
    const lent = chunk(1, 3000);
    r.remember(idOf(1), lent);
    lent.fill(0);
    expect(r.has(idOf(1))).toBe(true);
    expect(r.get(idOf(1))?.equals(chunk(1, 3000))).toBe(true);
    r.drop(idOf(1));
    expect(r.get(idOf(1))).toBeUndefined();
  });

  it('keeps 8 MB of small chunks at most, and room comes back as they are dropped', () => {
    const r = new RecentChunks();
    for (let n = 0; n < 5000; n++) r.remember(idOf(n), chunk(n, 2500));
    const kept = [...Array(5000).keys()].filter((n) => r.has(idOf(n)));
    // Eight slabs of 1 MiB, 419 chunks of 2,500 bytes in each.
    expect(kept.length).toBe(8 * 419);
    expect(kept.every((n) => r.get(idOf(n))?.equals(chunk(n, 2500)))).toBe(true);
    for (const n of kept) r.drop(idOf(n));
    for (let n = 5000; n < 5100; n++) r.remember(idOf(n), chunk(n, 2500));
    expect(r.has(idOf(5099))).toBe(true);
  });

  it('counts a slab whole while any chunk in it is kept', () => {
    const r = new RecentChunks();
    // Ten 100 KB chunks per 1 MiB slab, eight slabs.
    for (let n = 0; n < 80; n++) r.remember(idOf(n), chunk(n, 100_000));
    r.remember(idOf(80), chunk(80, 100_000));
    expect(r.has(idOf(80))).toBe(false);
    // One chunk left in each slab: their memory is still held, nothing more fits.
    for (let n = 0; n < 80; n++) if (n % 10 !== 0) r.drop(idOf(n));
    r.remember(idOf(81), chunk(81, 100_000));
    expect(r.has(idOf(81))).toBe(false);
    // The first slab emptied: its megabyte is free again.
    r.drop(idOf(0));
    r.remember(idOf(82), chunk(82, 100_000));
    expect(r.has(idOf(82))).toBe(true);
    expect(r.get(idOf(82))?.equals(chunk(82, 100_000))).toBe(true);
    expect(r.get(idOf(10))?.equals(chunk(10, 100_000))).toBe(true);
  });

  it('gives a large chunk a buffer of its own, counted by its size', () => {
    const r = new RecentChunks();
    for (let n = 0; n < 40; n++) r.remember(idOf(n), chunk(n, 300_000));
    // 8 MiB / 300,000 bytes.
    expect([...Array(40).keys()].filter((n) => r.has(idOf(n))).length).toBe(27);
    r.drop(idOf(0));
    r.remember(idOf(40), chunk(40, 300_000));
    expect(r.has(idOf(40))).toBe(true);
  });
});
