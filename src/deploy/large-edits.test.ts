import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact } from './artifact.js';
import { ChunkLedger } from './chunk-ledger.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { releaseIdOf } from './manifest.js';

let root: string;
let art: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-large-edits-'));
  art = path.join(root, 'art');
  await writeFile(path.join(root, 'probe'), '');
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Past the filesystem's clock tick of every change: the next walk sees them settled. */
async function afterTick(): Promise<void> {
  let latest = 0n;
  for (const f of await readdir(art)) {
    const c = statSync(path.join(art, f), { bigint: true }).ctimeNs;
    if (c > latest) latest = c;
  }
  const probe = path.join(root, 'probe');
  for (;;) {
    await writeFile(probe, '');
    if (statSync(probe, { bigint: true }).ctimeNs > latest + 1_000_000n) return;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Writes `bytes` at `at` of an artifact file, in place. */
function poke(rel: string, at: number, bytes: string): void {
  const fd = openSync(path.join(art, rel), 'r+');
  try {
    writeSync(fd, bytes, at);
  } finally {
    closeSync(fd);
  }
}

let shifts: { path: string; at: number; from: number }[] = [];

async function walk(version: string): Promise<string[][]> {
  const heard: string[][] = [];
  shifts = [];
  const ledger = await ChunkLedger.open(path.join(root, 'ledger'), art, DEFAULT_CHUNKING);
  const r = await readArtifact(art, version, DEFAULT_CHUNKING, {
    ledger,
    onLargeEdits: (paths) => heard.push(paths),
    onLargeShift: (f) => shifts.push(f),
  });
  if (!r.ok) throw new Error(r.error);
  await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
  return heard;
}

describe('large files changed in place, named before they are chunked', () => {
  it('names a large file edited at its size, not one that grew, a small one or a first walk', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(art);
    // Sparse: 64 MB each without writing them.
    for (const f of ['big.bin', 'grows.bin']) {
      await writeFile(path.join(art, f), 'start');
      await truncate(path.join(art, f), 64 * 1024 * 1024);
    }
    await writeFile(path.join(art, 'small.txt'), 'x'.repeat(10_000));
    await afterTick();
    expect(await walk('v1')).toEqual([]);
    poke('big.bin', 5_000_000, 'edited in place');
    poke('grows.bin', 64 * 1024 * 1024, 'appended');
    poke('small.txt', 100, 'edited');
    await afterTick();
    expect(await walk('v2')).toEqual([['big.bin']]);
    // Nothing changed: nothing named.
    expect(await walk('v2')).toEqual([]);
  });

  it('names a large file whose bytes moved with its shift, once probed', async () => {
    const { mkdir, readFile } = await import('node:fs/promises');
    const { randomBytes } = await import('node:crypto');
    await mkdir(art);
    const data = randomBytes(64 * 1024 * 1024);
    await writeFile(path.join(art, 'big.bin'), data);
    await writeFile(path.join(art, 'same.bin'), data);
    await afterTick();
    expect(await walk('v1')).toEqual([]);
    expect(shifts).toEqual([]);
    await writeFile(
      path.join(art, 'big.bin'),
      Buffer.concat([Buffer.alloc(4096, 7), await readFile(path.join(art, 'big.bin'))]),
    );
    await afterTick();
    expect(await walk('v2')).toEqual([]);
    await expect.poll(() => shifts).toEqual([{ path: 'big.bin', at: 4096, from: 0 }]);
  });
});
