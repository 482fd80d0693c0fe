/**
 * A restart's check of a staging folder a crash left (staging-area.ts reopen): every chunk in
 * place is read back and its SHA-256 checked, so a torn write, or bytes someone changed, fail
 * and are fetched again, and the next stage of that release carries on from what passed.
 */
import { close, constants, lstatSync, open, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { chunkIdOf } from '../fastcdc.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import type { StagedLoc } from './staging-area.js';
import type { StagingPlaces } from './staging-places.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

const openLater = promisify(open);
const closeFd = promisify(close);
/** Bytes read at once when a restart checks a staged file. */
const SCAN_BLOCK = 4 * 1024 * 1024;

/**
 * Reads back every chunk of every file in `dir` (the staging folder of `places`); marks and
 * reports those whose hash matches.
 */
export async function scanStaging(
  dir: string,
  places: StagingPlaces,
  found: (chunk: ChunkId, loc: StagedLoc) => void,
): Promise<void> {
  for (const [f, e] of places.files.entries()) {
    const file = path.join(dir, e.path);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(file);
    } catch {
      continue;
    }
    // A link to a kept release's file, or anything not a plain file: not this staging's bytes.
    if (!st.isFile() || st.nlink > 1) {
      await rm(file, { recursive: true, force: true });
      continue;
    }
    const fd = await openLater(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      await scanFile(places, f, e, fd, found);
    } finally {
      await closeFd(fd);
    }
  }
}

async function scanFile(
  places: StagingPlaces,
  f: number,
  e: FileEntry,
  fd: number,
  found: (chunk: ChunkId, loc: StagedLoc) => void,
): Promise<void> {
  const base = places.first[f]!;
  let j = 0;
  while (j < e.chunks.length) {
    // Consecutive chunks read as one block of up to SCAN_BLOCK bytes.
    const start = places.offset[base + j]!;
    let end = j;
    let len = 0;
    while (end < e.chunks.length && (len === 0 || len + e.chunks[end]![1] <= SCAN_BLOCK)) {
      len += e.chunks[end]![1];
      end++;
    }
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, start + got);
      if (n === 0) break;
      got += n;
    }
    for (let k = j; k < end; k++) {
      const [id, size] = e.chunks[k]!;
      const at = places.offset[base + k]! - start;
      if (at + size > got) break;
      if (chunkIdOf(buf.subarray(at, at + size)) !== id) continue;
      places.done[base + k] = 1;
      found(id, places.loc(base + k));
    }
    j = end;
  }
}
