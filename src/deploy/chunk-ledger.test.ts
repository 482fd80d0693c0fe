import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArtifact } from './artifact.js';
import { ChunkLedger } from './chunk-ledger.js';
import { DEFAULT_CHUNKING } from './fastcdc.js';
import { releaseIdOf } from './manifest.js';

let root: string;
let art: string;
let ledgerDir: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'slipway-ledger-'));
  art = path.join(root, 'art');
  ledgerDir = path.join(root, 'ledger');
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** Writes files with an mtime an hour ago (outside the racy window). */
async function put(files: Record<string, string>, ageMs = 3_600_000): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  for (const [p, text] of Object.entries(files)) {
    const full = path.join(art, p);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, text);
    const t = (Date.now() - ageMs) / 1000;
    await utimes(full, t, t);
  }
}

async function deploy(version: string) {
  const ledger = await ChunkLedger.open(ledgerDir, art, DEFAULT_CHUNKING);
  const r = await readArtifact(art, version, DEFAULT_CHUNKING, { ledger });
  if (!r.ok) throw new Error(r.error);
  await ledger.save({ release: releaseIdOf(r.value.manifest), manifest: r.value.manifest });
  return { ...r.value, previous: ledger.last?.release };
}

describe('chunk ledger', () => {
  it('skips reading files whose stat is unchanged and gives the same manifest', async () => {
    await put({ 'a.js': 'x'.repeat(50_000), 'b/c.css': 'body{}', 'b/d.png': 'y'.repeat(300_000) });
    const first = await deploy('v1');
    expect(first.reread).toBe(3);
    const second = await deploy('v1');
    expect(second.reread).toBe(0);
    expect(second.manifest).toEqual(first.manifest);
    expect(second.previous).toBe(releaseIdOf(first.manifest));
  });

  it('re-reads a same-size edit that kept its mtime (the ctime moved)', async () => {
    await put({ 'a.js': 'one', 'b.js': 'bee' });
    const first = await deploy('v1');
    await put({ 'a.js': 'two' }); // same size, mtime set back to an hour ago
    const second = await deploy('v2');
    expect(second.reread).toBe(1);
    expect(second.manifest.entries).not.toEqual(first.manifest.entries);
    const fresh = await readArtifact(art, 'v2');
    expect(fresh.ok && fresh.value.manifest).toEqual(second.manifest);
  });

  it('does not trust a file that changed just before it was recorded (racy)', async () => {
    await put({ 'old.js': 'settled' });
    await put({ 'new.js': 'just written' }, 0);
    await deploy('v1');
    const again = await deploy('v1');
    expect(again.reread).toBe(1);
  });

  it('chunks everything again when the ledger is damaged', async () => {
    await put({ 'a.js': 'one', 'b.js': 'two' });
    await deploy('v1');
    const { readdir } = await import('node:fs/promises');
    for (const f of await readdir(ledgerDir)) await writeFile(path.join(ledgerDir, f), '{"format":1,');
    const again = await deploy('v1');
    expect(again.reread).toBe(2);
  });
});
