/**
 * Writing one file of a release being assembled (assembly.ts): created from its chunks, every
 * length checked against the manifest, or written from its earlier version (file-from-base.ts);
 * either way given the manifest's mode and answered with its size and mtime, the proof that it
 * was not edited since (release-stats.ts).
 */
import { fchmodSync, writevSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { fstatNumbers } from '../../util/lstat-numbers.js';
import { trace } from '../../util/trace.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import type { AheadCopies } from './copies-ahead.js';
import type { DirectSink } from './direct-file.js';
import { type BaseFile, writeFromBase } from './file-from-base.js';

/** Creates `dest` (O_EXCL) from its chunks, checking every length; returns its size and mtime. */
export async function writeFromChunks(
  e: Extract<ManifestEntry, { type: 'file' }>,
  dest: string,
  chunk: (id: ChunkId) => Promise<Buffer>,
  sync: boolean,
): Promise<[number, number]> {
  if (e.size <= SMALL_FILE) return writeSmall(e, dest, chunk, sync);
  const fh = await open(dest, 'wx', e.mode & 0o777);
  try {
    let written = 0;
    for (const [chunkId, size] of e.chunks) {
      const data = await chunk(chunkId);
      // The chunk's hash was checked when it was read; its length is the manifest's claim,
      // and a file must come out exactly as long as the manifest says.
      if (data.length !== size)
        throw new Error(
          `chunk ${chunkId.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
        );
      await fh.write(data, 0, data.length);
      written += data.length;
    }
    if (written !== e.size)
      throw new Error(`${e.path} came out ${written} bytes, the manifest says ${e.size}`);
    // open()'s mode is masked by the umask: set the manifest's exactly.
    await fh.chmod(e.mode & 0o777);
    if (sync) await fh.sync();
    const st = await fh.stat();
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}

/** Files up to this size are written on the calling thread (see writeSmall). */
const SMALL_FILE = 256 * 1024;

/**
 * writeFromChunks for a small file: its chunks gathered first, then written, chmodded and
 * stated synchronously, one call each instead of a thread-pool round trip each (20,000 small
 * files cost seconds of round trips otherwise).
 */
async function writeSmall(
  e: Extract<ManifestEntry, { type: 'file' }>,
  dest: string,
  chunk: (id: ChunkId) => Promise<Buffer>,
  sync: boolean,
): Promise<[number, number]> {
  const parts: Buffer[] = [];
  let total = 0;
  for (const [chunkId, size] of e.chunks) {
    const data = await chunk(chunkId);
    if (data.length !== size)
      throw new Error(
        `chunk ${chunkId.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
      );
    parts.push(data);
    total += size;
  }
  if (total !== e.size) throw new Error(`${e.path} came out ${total} bytes, the manifest says ${e.size}`);
  // Opened on the thread pool: creating a file waits on the filesystem's journal, which other
  // writers on the machine may hold for milliseconds; sixteen opens wait at once that way.
  const fh = await open(dest, 'wx', e.mode & 0o777);
  try {
    let at = 0;
    while (at < total) at += writevSync(fh.fd, at === 0 ? parts : [Buffer.concat(parts).subarray(at)]);
    fchmodSync(fh.fd, e.mode & 0o777);
    if (sync) await fh.sync();
    const st = fstatNumbers(fh.fd);
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}

/** Files from this size on get a head start on their flush when written early (writeFromBaseFile). */
const EARLY_FLUSH = 8 * 1024 * 1024;

/**
 * Writes a changed file at `dest` (which must not exist) from its earlier version and `chunk`
 * (file-from-base.ts) and gives it the manifest's mode; returns its size and mtime, or undefined,
 * having written nothing, when the base shares no chunk with it. With `early` (the file written
 * while its chunks are still being fetched), a large file's data is flushed right away: the
 * assembly's durable step, which still syncs it, then finds little left to write.
 */
export async function writeFromBaseFile(opts: {
  e: Extract<ManifestEntry, { type: 'file' }>;
  dest: string;
  base: BaseFile;
  chunk: (id: ChunkId) => Promise<Buffer | undefined>;
  direct?: DirectSink;
  sync: boolean;
  early?: boolean;
  /** Called once the writing has begun, or nothing is written (file-from-base.ts). */
  onStart?: () => void;
  /** Copies of bases made ahead (copies-ahead.ts). */
  ahead?: AheadCopies;
}): Promise<[number, number] | undefined> {
  const { e, dest } = opts;
  const flush = opts.early === true && e.size >= EARLY_FLUSH;
  if (!(await writeFromBase({ ...opts, flush }))) return undefined;
  trace(`written from base: ${e.path}`);
  return finishFile(dest, e.mode & 0o777, opts.sync || flush);
}

/** Gives a file written from its base the manifest's mode; returns its size and mtime. */
async function finishFile(dest: string, mode: number, sync: boolean): Promise<[number, number]> {
  const fh = await open(dest, 'r+');
  try {
    await fh.chmod(mode);
    if (sync) await fh.sync();
    const st = await fh.stat();
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}
