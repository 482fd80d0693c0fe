/**
 * Fixtures of the tests of bases copied ahead (copies-ahead.test.ts, shifted-copies.test.ts):
 * small chunking parameters, a file's manifest entry under them, a base file in a folder with the
 * agent's copies made there, and the copies a folder holds.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type AheadBase, CopiesAhead } from '../../src/deploy/agent/copies-ahead.js';
import { chunkBuffer } from '../../src/deploy/fastcdc.js';
import type { ManifestEntry } from '../../src/deploy/manifest.js';
import type { ChunkId } from '../../src/deploy/types.js';

/** Chunking small enough that a few MB make thousands of chunks. */
export const P = { min: 256, avg: 1024, max: 4096 };

export function entry(rel: string, data: Buffer): Extract<ManifestEntry, { type: 'file' }> {
  const chunks = chunkBuffer(data, P).map((c) => [c.id, c.size] as [ChunkId, number]);
  return { type: 'file', path: rel, mode: 0o644, size: data.length, chunks };
}

/** `old` written as a base in a folder made by `mkdir` (a test file's tempDirs), and the copies there. */
export function aheadSetup(mkdir: () => string, old: Buffer) {
  const dir = mkdir();
  const basePath = path.join(dir, 'old.bin');
  writeFileSync(basePath, old);
  const st = statSync(basePath);
  const base: AheadBase = { path: basePath, size: st.size, mtimeMs: st.mtimeMs };
  return { dir, base, copies: new CopiesAhead(dir) };
}

/** The copies in `dir` (their names start with ".ahead-"). */
export const aheadIn = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('.ahead-'));
