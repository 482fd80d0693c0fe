/**
 * A large file written in order from its base (bytes inserted or removed, file-from-base.ts)
 * with direct I/O: the new file is put together in aligned blocks in this process's memory, each
 * block from the base's bytes and the new chunks, and written to the disk without the page cache.
 *
 * Why: the buffered write copies all 200 MB into page-cache pages the kernel allocates for them,
 * and where those pages are memory the machine has not used lately (a VM whose host backs its
 * memory lazily and takes back what it frees: this one's Firecracker, page reporting), each first
 * touch costs the host's fault. The 200 MB file's 4 KB shift spent 450-650 ms of the agent's CPU
 * in that copy (perf: copy_folio_from_iter_atomic, and three writers spinning on the file's lock)
 * against ~130 ms when its pages were warm; direct writes came out at ~140 ms either way. The file
 * is synced anyway before its release is activated (durability.ts), so the page cache bought
 * nothing but the copy; nor does it push a running app's files out of the cache.
 *
 * Only where it can: the file opened again with O_DIRECT and a buffer address the kernel takes
 * (found by trying, once per file); otherwise (no O_DIRECT, tmpfs before 6.6, any refusal) the
 * caller writes as before. Every block written here lies wholly in this file and nothing else
 * writes into the file meanwhile (the caller keeps new chunks out of it), so buffered and direct
 * writes never meet in one page.
 */
import { constants, readSync } from 'node:fs';
import { copyFile, type FileHandle, open, rm, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { trace } from '../../util/trace.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import { type BaseFiles, closeBase, noteWrittenDirect, openBase, readBase } from './direct-bases.js';
import { DirectPace, directWritesPay, noteDirectPace } from './direct-pace.js';
import { nativeAddon } from './native-addon.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** File offsets, lengths and buffer addresses of direct writes are multiples of this. */
const ALIGN = 4096;

/** Bytes per block written. */
export const BLOCK = 1024 * 1024;

/**
 * Blocks of a plain copy (copyFileAligned) under way at once: each block's read and write wait
 * for this process's main thread between them, and a staging's transfer keeps that thread ~80%
 * busy (base reads, checksums, decoding, SHA-256). With three, the 200 MB base's copy made ahead
 * of an edit ran at ~1.5 GB/s while the deployer walked and at ~0.4 GB/s once the transfer began,
 * the last thing the staging waited for (75-110 ms after the last chunk came); a standalone copy
 * beside a main thread busy 4 ms of every ~5.5: three lanes 410-490 ms, eight ~250, idle ~150-220
 * either way. The 200 MB file's edits (A/B, 6 pairs each, wall B/A): 6 lanes against 3, 1% 0.91
 * and 10% 0.95; 8 against 6, 0.88 and 0.86; 12 against 8, 1.08 and 0.91. 8 MiB of buffers while
 * a copy runs, let go after it.
 */
export const COPY_LANES = 8;

/** Blocks being filled or written at once. */
const LANES = 3;

/** A file open for direct writes, with LANES (or a copy's COPY_LANES) buffers the kernel accepts. */
export interface AlignedFile {
  fh: FileHandle;
  lanes: Buffer[];
  /** The memory of the lanes (closeAligned keeps it for the next file). */
  raw?: Buffer;
}

/**
 * Opens `dest` (already created, empty) a second time for direct writes and finds aligned
 * buffers for it; undefined when the platform, the filesystem or the kernel refuses. `probe` is a
 * file of at least ALIGN bytes on the same filesystem (the base), read once with direct I/O.
 */
export async function openAligned(
  dest: string,
  probe: string,
  lanes = LANES,
): Promise<AlignedFile | undefined> {
  const direct = directFlag();
  if (direct === undefined) return undefined;
  const fh = await open(dest, constants.O_WRONLY | direct).catch(() => undefined);
  if (!fh) return undefined;
  // One allocation for every lane, so that one aligned start serves them all. Its address is
  // not known to JavaScript: a direct read of one block into each candidate start tells (the
  // refused ones fail at once with EINVAL, with no I/O). A read, not a write: a direct write
  // extending the new file cost 4-55 ms here (its allocation, on this thread).
  const size = lanes * BLOCK + ALIGN;
  const raw = spare?.length === size ? spare : Buffer.allocUnsafeSlow(size);
  if (raw === spare) spare = undefined;
  const at = await aligned(raw, probe, direct);
  if (at === undefined) {
    keep(raw);
    await fh.close();
    return undefined;
  }
  return {
    fh,
    raw,
    lanes: Array.from({ length: lanes }, (_, i) => raw.subarray(at + i * BLOCK, at + (i + 1) * BLOCK)),
  };
}

/** O_DIRECT where direct writes are to be used now, else undefined. */
function directFlag(): number | undefined {
  const direct = (constants as Record<string, number | undefined>).O_DIRECT;
  // SLIPWAY_DIRECT_IO=0: never (the writes as before), to compare on a machine of one's own.
  if (direct === undefined || process.env.SLIPWAY_DIRECT_IO === '0') return undefined;
  // A disk last measured slow (its direct writes or its syncs): the page cache's way (direct-pace.ts).
  return directWritesPay() ? direct : undefined;
}

/** Closes a file opened by openAligned, its buffers kept for the next (no write of it is under way). */
export async function closeAligned(out: AlignedFile): Promise<void> {
  if (out.raw) keep(out.raw);
  await out.fh.close();
}

/**
 * The lanes' memory of the last file written, for the next one: a fresh 3 MiB per file, freed
 * only when collected, raised the agent's peak RSS by ~15 MB over an A/B's sequence of edits.
 */
let spare: Buffer | undefined;

/** Keeps `raw` as the spare if it is of the usual size (a copy's extra lanes are let go). */
function keep(raw: Buffer): void {
  if (raw.length === LANES * BLOCK + ALIGN) spare = raw;
}

/** The first offset into `raw` from which `probe` takes a direct read of ALIGN bytes, if any. */
async function aligned(raw: Buffer, probe: string, direct: number): Promise<number | undefined> {
  const fh = await open(probe, constants.O_RDONLY | direct).catch(() => undefined);
  if (!fh) return undefined;
  try {
    // malloc aligns to 16 bytes at least.
    for (let at = 0; at < ALIGN; at += 16) {
      try {
        if (readSync(fh.fd, raw, at, ALIGN, 0) === ALIGN) return at;
        return undefined;
      } catch (x) {
        if ((x as NodeJS.ErrnoException).code !== 'EINVAL') return undefined;
      }
    }
    return undefined;
  } finally {
    await fh.close();
  }
}

/** One stretch of the new file: from the base at `base`, or (base -1) new chunk `chunk` from its byte `skip`. */
interface Piece {
  at: number;
  len: number;
  base: number;
  chunk: number;
  skip: number;
}

/**
 * Writes `e` into `out` block by block: each block's bytes read from `src` (the base; `from[i]`
 * the base offset of chunk i, or -1) and copied from `chunk` for the new chunks. Blocks of the base
 * alone go first, those with a new chunk after them, so that the base's bytes are on the disk while
 * the new chunks are still on their way. Sets the file's length; closes nothing.
 */
export async function writeAligned(
  out: AlignedFile,
  src: BaseFiles,
  e: FileEntry,
  from: number[],
  chunk: (id: ChunkId) => Promise<Buffer | undefined>,
): Promise<void> {
  const blocks = Math.ceil(e.size / BLOCK);
  const pace = new DirectPace();
  const pieces: Piece[][] = Array.from({ length: blocks }, () => []);
  const mixed = new Set<number>();
  let offset = 0;
  for (const [i, [, size]] of e.chunks.entries()) {
    const b = from[i]!;
    for (let at = offset; at < offset + size; ) {
      const k = Math.floor(at / BLOCK);
      const len = Math.min(offset + size, (k + 1) * BLOCK) - at;
      const list = pieces[k]!;
      const last = list[list.length - 1];
      const base = b < 0 ? -1 : b + (at - offset);
      // Consecutive in the base too: one read.
      if (last && base >= 0 && last.base >= 0 && last.base + last.len === base) last.len += len;
      else list.push({ at, len, base, chunk: b < 0 ? i : -1, skip: at - offset });
      if (b < 0) mixed.add(k);
      at += len;
    }
    offset += size;
  }
  if (offset !== e.size) throw new Error(`${e.path} came out ${offset} bytes, the manifest says ${e.size}`);
  // A new chunk over two blocks is asked for once; forgotten with its last block.
  const asked = new Map<number, Promise<Buffer>>();
  const lastBlock = new Map<number, number>();
  for (const [k, list] of pieces.entries()) for (const p of list) if (p.chunk >= 0) lastBlock.set(p.chunk, k);
  const newChunk = (i: number): Promise<Buffer> => {
    let got = asked.get(i);
    if (!got) {
      const [id, size] = e.chunks[i]!;
      got = chunk(id).then((data) => {
        if (data === undefined) throw new Error(`chunk ${id.slice(0, 12)} of ${e.path} went elsewhere`);
        if (data.length !== size)
          throw new Error(
            `chunk ${id.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
          );
        return data;
      });
      asked.set(i, got);
    }
    return got;
  };
  const fill = async (k: number, buf: Buffer): Promise<void> => {
    const start = k * BLOCK;
    for (const p of pieces[k]!) {
      if (p.base >= 0) {
        if (!(await readBase(src, buf, p.at - start, p.len, p.base)))
          throw new Error(`the earlier ${e.path} is shorter than its manifest says`);
        continue;
      }
      const data = await newChunk(p.chunk);
      data.copy(buf, p.at - start, p.skip, p.skip + p.len);
      if (lastBlock.get(p.chunk) === k) asked.delete(p.chunk);
    }
    const len = Math.min(BLOCK, e.size - start);
    // The last block rounded up to a whole one; the file is cut to its length below.
    const whole = Math.ceil(len / ALIGN) * ALIGN;
    let done = 0;
    while (done < whole) {
      pace.started();
      let bytesWritten = 0;
      try {
        bytesWritten = (await out.fh.write(buf, done, whole - done, start + done)).bytesWritten;
      } finally {
        pace.finished(bytesWritten);
      }
      if (bytesWritten <= 0 || bytesWritten % ALIGN)
        throw new Error(`a direct write of ${e.path} came out short`);
      done += bytesWritten;
    }
  };
  const order = [...pieces.keys()].filter((k) => !mixed.has(k)).concat([...mixed].sort((a, b) => a - b));
  const lanes: (Promise<void> | undefined)[] = [];
  let failed = false;
  for (const [n, k] of order.entries()) {
    const turn = n % out.lanes.length;
    // This lane's block is written before its buffer takes the next one.
    if (lanes[turn]) await lanes[turn]!.catch(() => {});
    if (failed) break;
    const one = fill(k, out.lanes[turn]!);
    one.catch(() => {
      failed = true;
    });
    lanes[turn] = one;
  }
  const settled = await Promise.allSettled(lanes);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  await out.fh.truncate(e.size);
  noteWrittenDirect(await out.fh.stat());
  if (noteDirectPace(pace))
    trace(`direct writes off: ${e.path} went at ${Math.round(pace.pace()! / 1024)} MB/s`);
}

/**
 * Copies the file `src` to `dest` (which must not exist) as a clone where the filesystem makes
 * them, else, from ALIGNED_COPY_MIN bytes on, with direct writes (the page cache's fresh pages
 * again: the 200 MB base's copy for an edit in place took 0.5-0.8 s here beside the deployer's
 * walk, against ~0.2 s written direct): by the addon on libuv's pool where it is built
 * (copy-direct.c), else from here, else with the kernel's copy (copyFile).
 */
export async function copyFileAligned(src: string, dest: string): Promise<void> {
  const excl = constants.COPYFILE_EXCL;
  try {
    return await copyFile(src, dest, excl | constants.COPYFILE_FICLONE_FORCE);
  } catch (x) {
    // No clone here (ext4): nothing was created. Anything else is the copy's own failure.
    if (!NO_CLONE.has((x as NodeJS.ErrnoException).code ?? '')) throw x;
  }
  const from = await openBase(src);
  try {
    const st = await from.fh.stat();
    if (st.size >= ALIGNED_COPY_MIN && (await copiedNatively(from, st, src, dest))) return;
    if (st.size >= ALIGNED_COPY_MIN) {
      const fh = await open(dest, 'wx', st.mode & 0o777);
      let whole = false;
      try {
        const out = await openAligned(dest, src, COPY_LANES);
        if (out) {
          try {
            const e: FileEntry = {
              type: 'file',
              path: dest,
              mode: st.mode,
              size: st.size,
              chunks: [['' as ChunkId, st.size]],
            };
            await writeAligned(out, from, e, [0], async () => undefined);
            whole = true;
          } catch (x) {
            // A direct write refused after all: the kernel's copy below.
            if (!refused(x)) throw x;
          } finally {
            await closeAligned(out);
          }
        }
      } finally {
        await fh.close();
        if (!whole) await rm(dest, { force: true });
      }
      if (whole) return;
    }
  } finally {
    await closeBase(from);
  }
  await copyFile(src, dest, excl | constants.COPYFILE_FICLONE);
}

/**
 * The copy made by the addon on libuv's pool (copy-direct.c), with direct I/O, where it is built
 * and direct writes are to be used: whether it made it (direct I/O refused: false, nothing made).
 * `dest`'s bytes from `at` on are `src`'s from `from` on, its first `at` bytes `src`'s first (0
 * and 0: a plain copy); `base` is `src` open (openBase: read direct if written so). Its pace is
 * noted as a copy's from here is (direct-pace.ts), its reads included.
 */
export async function copiedNatively(
  base: BaseFiles,
  st: { size: number; mode: number },
  src: string,
  dest: string,
  at = 0,
  from = 0,
): Promise<boolean> {
  const copyDirect = nativeAddon()?.copyDirect;
  if (!copyDirect || directFlag() === undefined) return false;
  const pace = new DirectPace();
  pace.started();
  const n = await copyDirect(src, dest, st.mode & 0o777, base.direct !== undefined, at, from);
  pace.finished(Math.max(n, 0));
  if (n === -EINVAL) return false;
  if (n < 0) {
    const code = getSystemErrorName(n);
    throw Object.assign(new Error(`${code}: cannot copy ${src} to ${dest}`), { code, errno: n });
  }
  if (n !== at + st.size - from) {
    await rm(dest, { force: true });
    throw new Error(`${src} changed while copied`);
  }
  noteWrittenDirect(await stat(dest));
  if (noteDirectPace(pace))
    trace(`direct writes off: ${src} copied at ${Math.round(pace.pace()! / 1024)} MB/s`);
  return true;
}

/** errno's EINVAL: what the kernel answers a direct read or write it refuses. */
const EINVAL = osConstants.errno.EINVAL;

/** Whether `x` is a direct read or write the kernel refused (an alignment it asks for and the probe missed). */
export function refused(x: unknown): boolean {
  return (x as NodeJS.ErrnoException).code === 'EINVAL';
}

/** Errors of a clone the filesystem does not make (copyFile with COPYFILE_FICLONE_FORCE). */
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EINVAL', 'ENOTTY']);

/** Files copied from this size on with direct writes, when they cannot be cloned. */
export const ALIGNED_COPY_MIN = 8 * 1024 * 1024;
