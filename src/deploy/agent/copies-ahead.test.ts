import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { aheadIn, aheadSetup, entry, P } from '../../../test/helpers/copies-ahead.js';
import { tempDirs } from '../../../test/helpers/temp-dirs.js';
import { chunkBuffer } from '../fastcdc.js';
import type { ChunkId } from '../types.js';
import { Agent } from './agent.js';
import { CopiesAhead } from './copies-ahead.js';
import { writeFromBase } from './file-from-base.js';

const tmp = tempDirs();
const setup = (old: Buffer) => aheadSetup(() => tmp('slipway-ahead-'), old);

describe('copies of bases made ahead of their stage request', () => {
  it('hands over a whole copy once, named as no release can be', async () => {
    const old = randomBytes(3 * 1024 * 1024);
    const { dir, base, copies } = setup(old);
    expect(copies.start(base)).toBe(true);
    // One copy per base at a time.
    expect(copies.start(base)).toBe(false);
    const made = await copies.take(base.path);
    expect(made).toBeDefined();
    expect(path.dirname(made!)).toBe(dir);
    expect(path.basename(made!).startsWith('.')).toBe(true);
    expect(readFileSync(made!).equals(old)).toBe(true);
    // Taken: the caller's now, not handed over again.
    expect(await copies.take(base.path)).toBeUndefined();
    expect(copies.size).toBe(0);
  });

  it('refuses a copy whose base changed since it began, and removes it', async () => {
    const old = randomBytes(1024 * 1024);
    const { dir, base, copies } = setup(old);
    copies.start(base);
    // An app writing into its release: same size, a later mtime.
    const later = new Date(base.mtimeMs + 5_000);
    utimesSync(base.path, later, later);
    expect(await copies.take(base.path)).toBeUndefined();
    expect(aheadIn(dir)).toEqual([]);
  });

  it('removes a copy dropped, one not taken in time, and all of them when stopped', async () => {
    const { dir, base, copies } = setup(randomBytes(64 * 1024));
    copies.start(base);
    copies.drop(base.path);
    await expect.poll(() => aheadIn(dir), { timeout: 10_000 }).toEqual([]);

    const quick = new CopiesAhead(dir, 10);
    quick.start(base);
    await expect.poll(() => quick.size, { timeout: 10_000 }).toBe(0);
    await expect.poll(() => aheadIn(dir), { timeout: 10_000 }).toEqual([]);

    const other = new CopiesAhead(dir);
    other.start(base);
    await other.stop();
    expect(aheadIn(dir)).toEqual([]);
    expect(other.size).toBe(0);
  });

  it('answers nothing for a base it was not asked to copy, and a failed copy leaves nothing', async () => {
    const { dir, base, copies } = setup(randomBytes(4096));
    expect(await copies.take(base.path)).toBeUndefined();
    copies.start({ ...base, path: path.join(dir, 'gone.bin') });
    expect(await copies.take(path.join(dir, 'gone.bin'))).toBeUndefined();
    expect(aheadIn(dir)).toEqual([]);
  });

  it('is what an edit in place is written over: byte for byte as without it, the base untouched', async () => {
    const old = randomBytes(2 * 1024 * 1024);
    const fresh = Buffer.from(old);
    randomBytes(5000).copy(fresh, 700_000);
    randomBytes(300).copy(fresh, 1_900_000);
    const { dir, base, copies } = setup(old);
    const e = entry('new.bin', fresh);
    const byId = new Map(
      chunkBuffer(fresh, P).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]),
    );
    const chunk = async (id: ChunkId) => Buffer.from(byId.get(id)!);
    copies.start(base);
    const dest = path.join(dir, 'new.bin');
    const b = { path: base.path, chunks: entry('old.bin', old).chunks };
    let taken: string | undefined;
    const ahead = {
      take: async (p: string) => (taken = await copies.take(p)),
      drop: (p: string) => copies.drop(p),
    };
    expect(await writeFromBase({ e, dest, base: b, chunk, flush: true, ahead })).toBe(true);
    expect(taken).toBeDefined();
    expect(readFileSync(dest).equals(fresh)).toBe(true);
    expect(readFileSync(base.path).equals(old)).toBe(true);
    // The copy became the file: none left beside it.
    expect(aheadIn(dir)).toEqual([]);
    expect(existsSync(dest)).toBe(true);
  });

  it('is dropped when the file is written in order (its bytes moved)', async () => {
    const old = randomBytes(512 * 1024);
    const fresh = Buffer.concat([randomBytes(4096), old]);
    const { dir, base, copies } = setup(old);
    const e = entry('new.bin', fresh);
    const byId = new Map(
      chunkBuffer(fresh, P).map((c) => [c.id, fresh.subarray(c.offset, c.offset + c.size)]),
    );
    const chunk = async (id: ChunkId) => Buffer.from(byId.get(id)!);
    copies.start(base);
    const dest = path.join(dir, 'new.bin');
    const b = { path: base.path, chunks: entry('old.bin', old).chunks };
    expect(await writeFromBase({ e, dest, base: b, chunk, ahead: copies })).toBe(true);
    expect(readFileSync(dest).equals(fresh)).toBe(true);
    expect(copies.size).toBe(0);
    await expect.poll(() => aheadIn(dir), { timeout: 10_000 }).toEqual([]);
  });

  it('left by a crash, is swept when the agent opens its folder again', async () => {
    const dir = tmp('slipway-ahead-crash-');
    const staging = path.join(dir, 'staging');
    mkdirSync(staging, { recursive: true });
    // A copy's name as the agent gives it, under way when the agent died.
    writeFileSync(path.join(staging, `.ahead-${process.pid}-1`), randomBytes(4096));
    const agent = await Agent.open({ dir, token: 'unit-test-token-0123456789' });
    try {
      expect(aheadIn(staging)).toEqual([]);
    } finally {
      await agent.shutdown();
    }
  });
});
