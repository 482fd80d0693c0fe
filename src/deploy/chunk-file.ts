/**
 * One file read and chunked by the artifact walk (artifact.ts): a large one streamed through one
 * reused buffer, a small one read whole into a scratch buffer.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { fstatNumbers, type StatNumbers } from '../util/lstat-numbers.js';
import type { FastHasher } from './fast-hash.js';
import { type ChunkingParams, chunkIdOf, chunkingBuffer, cutLength, DEFAULT_CHUNKING } from './fastcdc.js';
import { FileWindow } from './file-window.js';
import type { ChunkId } from './types.js';

/**
 * With `onChunks`, the chunking yields to the event loop once this long has passed since it last
 * did, after a block: an origin on this thread serves the chunks sent in parts (stage-stream.ts)
 * only then. Awaiting a block's read turned the loop only when the read-ahead had not finished,
 * which it mostly had: on the 200 MB file's first deploy the agent had fetched ~140 MB when the
 * walk ended, 40-45 MB of chunks listed but not yet asked for, and took another ~300 ms.
 */
const PARTS_YIELD_MS = 2;

/**
 * Chunk boundaries and ids of one file, read in large blocks through one reused buffer; with
 * `hasher`, each chunk's fast hash too (fast-hash.ts). `onChunks` hears the list as it grows,
 * after each block (a streamed stage sends it in parts); the chunking then yields now and then.
 */
export async function chunkFile(
  file: string,
  params: ChunkingParams = DEFAULT_CHUNKING,
  buffer: Buffer = chunkingBuffer(Math.max(2 * 1024 * 1024, params.max * 4)),
  hasher?: FastHasher,
  onChunks?: (chunks: readonly [ChunkId, number][]) => void,
): Promise<{ chunks: [ChunkId, number][]; size: number; fast?: Uint8Array[] }> {
  const fh = await open(file, 'r');
  const chunks: [ChunkId, number][] = [];
  const fast: Uint8Array[] | undefined = hasher ? [] : undefined;
  let size = 0;
  const w = new FileWindow(fh, buffer, 0, params.max);
  let turn = performance.now();
  try {
    for (;;) {
      if (!w.eof && w.end - w.start < params.max) await w.fill();
      if (w.start >= w.end) break;
      while (w.end - w.start >= params.max || (w.eof && w.start < w.end)) {
        const n = cutLength(buffer, w.start, w.end, params);
        const bytes = buffer.subarray(w.start, w.start + n);
        chunks.push([chunkIdOf(bytes), n]);
        if (fast) fast.push(hasher!.of(bytes));
        w.start += n;
        size += n;
      }
      if (onChunks) {
        onChunks(chunks);
        if (performance.now() - turn > PARTS_YIELD_MS) {
          await yieldLoop();
          turn = performance.now();
        }
      }
    }
  } finally {
    await w.settle();
    await fh.close();
  }
  return { chunks, size, ...(fast ? { fast } : {}) };
}

/**
 * How the walk opens a file to read: never through a symlink (one put in a file's place after it
 * was listed fails with ELOOP instead of being followed), and without blocking or taking a
 * terminal should it be something else by then (the descriptor's fstat tells, artifact.ts).
 */
const READ_FLAGS =
  constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/** `file` opened to read as the walk does (READ_FLAGS); throws as openSync does. */
export function openToRead(file: string): number {
  return openSync(file, READ_FLAGS);
}

/**
 * A file listed as a regular one (its folder's d_type), new to the ledger and to be read as
 * listed, opened at once: its stat is the descriptor's, taken before its bytes are read as the
 * lstat was (the racy rule holds alike), and its path is looked up once, not by lstat and then
 * open. On a first deploy of 20,000 small files the lstats were the walk's largest cost.
 * Undefined where it cannot be opened so (a symlink put in its place since, which is not
 * followed; gone; unreadable) or is no longer a regular file up to `whole` bytes: its path is then
 * lstat as any other's, and whatever that finds handled as ever.
 */
export function openListed(full: string, whole: number): { fd: number; st: StatNumbers } | undefined {
  let fd: number;
  try {
    fd = openToRead(full);
  } catch {
    return undefined;
  }
  try {
    const st = fstatNumbers(fd);
    if (st.isFile() && st.size <= whole) return { fd, st };
  } catch {
    // lstat's turn, below.
  }
  closeSync(fd);
  return undefined;
}

/**
 * A whole file's bytes read into `scratch`, as a view of it; undefined when the file has grown
 * to fill it (then it is read as it is). Through one buffer made by `chunkingBuffer`, its cut
 * points are scanned with WebAssembly and no buffer is allocated per file. `listed`: its size
 * as listed, where a short read ends it. `file`: its path, or a descriptor open on it (read
 * from offset 0 on, left open).
 */
export function readWhole(file: string | number, scratch: Buffer, listed: number): Buffer | undefined {
  if (typeof file === 'number') return readWholeFd(file, scratch, listed);
  const fd = openToRead(file);
  try {
    return readWholeFd(fd, scratch, listed);
  } finally {
    closeSync(fd);
  }
}

function readWholeFd(fd: number, scratch: Buffer, listed: number): Buffer | undefined {
  for (let n = 0; n < scratch.length; ) {
    const want = scratch.length - n;
    const got = readSync(fd, scratch, n, want, n);
    if (got === 0) return scratch.subarray(0, n);
    n += got;
    // A regular file reads short at its end: one that stops at the size listed is whole, with
    // no second read to hear 0 (a read per file, 20,000 of the bench's small ones). Read on
    // otherwise, to its end, whatever it grew or shrank to.
    if (got < want && n === listed) return scratch.subarray(0, n);
  }
  return undefined;
}
