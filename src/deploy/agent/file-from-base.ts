/**
 * A changed file written from the version of it a kept release has (its "base"): what did not
 * change is taken from the base file instead of being rebuilt chunk by chunk. When most of the
 * file kept its offsets (an edit in place), the base is copied (a clone where the filesystem has
 * copy-on-write, else with direct writes or the kernel's copy: aligned-writes.ts) and only the
 * changed chunks are written over it; otherwise (bytes inserted or removed) the file is written in
 * order, unchanged runs read from the base in large blocks (a large file with direct writes); or,
 * where the base was copied ahead with the shift the deployer predicted (copies-ahead.ts), only
 * the chunks not at their place in that copy are written over it. The base is trusted the way a hard-linked file is: its size and mtime are still
 * those recorded when its release was assembled; new chunks come verified from the chunk index.
 */
import { type FileHandle, link, open, unlink } from 'node:fs/promises';
import { trace } from '../../util/trace.js';
import type { ManifestEntry } from '../manifest.js';
import type { ChunkId } from '../types.js';
import { closeAligned, copyFileAligned, openAligned, refused, writeAligned } from './aligned-writes.js';
import type { AheadCopies, Shift } from './copies-ahead.js';
import { closeBase, openBase } from './direct-bases.js';
import type { DirectSink } from './direct-file.js';
import { shiftedPlan } from './shifted-copy.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** A kept release's earlier version of a file, untouched since its assembly. */
export interface BaseFile {
  path: string;
  chunks: [ChunkId, number][];
}

/**
 * Reads from the base are joined into blocks of up to this many bytes. 1 MiB, not 4: the three
 * lanes' buffers of 4 MiB (12 MB) came on top of what the deploys before had grown glibc's heap to
 * (the 200 MB file's 4 KB shift after its 10% edit: the agent's peak), and the 4 KB shift was no
 * slower with 1 MiB blocks (A/B 5 pairs 0.87, agent CPU 230 -> 130 ms, with held-bases.ts).
 */
const BLOCK = 1024 * 1024;

/**
 * Files written in order from this size on go with direct I/O where they can (aligned-writes.ts).
 * Below it the page cache's copy is cheap, and a direct write's block-rounding and lookups are not.
 */
export const ALIGNED_MIN = 8 * 1024 * 1024;

/** Where each new chunk is: a base range (offset) or -1 (from the chunk index). */
function plan(e: FileEntry, base: BaseFile): { from: number[]; inPlace: number } {
  const at = new Map<ChunkId, number>();
  let o = 0;
  for (const [id, size] of base.chunks) {
    if (!at.has(id)) at.set(id, o);
    o += size;
  }
  const from: number[] = [];
  let inPlace = 0;
  o = 0;
  for (const [id, size] of e.chunks) {
    const b = at.get(id) ?? -1;
    from.push(b);
    if (b === o) inPlace += size;
    o += size;
  }
  return { from, inPlace };
}

/**
 * Creates `dest` (it must not exist) with `e`'s content from `base` and `chunk`; checks every
 * length against the manifest. Returns false, having written nothing, when the base shares no chunk.
 */
export async function writeFromBase(opts: {
  e: FileEntry;
  dest: string;
  base: BaseFile;
  /** A chunk's bytes; undefined when `direct` has written it into the file already. */
  chunk: (id: ChunkId) => Promise<Buffer | undefined>;
  /** Takes chunks straight into the file while it is open (direct-file.ts). */
  direct?: DirectSink;
  /** Starts flushing the copied base to disk while it is copied (a head start, not durability). */
  flush?: boolean;
  /** Called once the writing has begun (the kernel's copy is under way), or nothing is written. */
  onStart?: () => void;
  /** Copies of bases made ahead of the stage request (copies-ahead.ts): one is taken instead of copying. */
  ahead?: AheadCopies;
  /** false: never with direct I/O (aligned-writes.ts), as for a file below ALIGNED_MIN. */
  aligned?: boolean;
}): Promise<boolean> {
  const { e, dest, base } = opts;
  const { from, inPlace } = plan(e, base);
  if (!from.some((b) => b >= 0)) {
    opts.ahead?.drop(base.path);
    opts.onStart?.();
    return false;
  }
  // A copy made ahead with a shift (bytes inserted or removed): taken if at least half the file is
  // at its place in it; otherwise, or not taken, the file is written as without it below.
  const shift = opts.ahead?.shiftOf?.(base.path);
  if (shift) {
    const { kept, bytes } = shiftedPlan(e, base, shift);
    if (bytes * 2 >= e.size && (await overShifted(opts, from, kept, shift))) return true;
  }
  // With the span that ends it (file-writes.ts), how much of the transfer the writing overlapped.
  trace(`writing from base ${inPlace * 2 >= e.size ? 'in place' : 'in order'}: ${e.path}`);
  if (inPlace * 2 >= e.size) {
    // The copy first, the base opened beside it: a 200 MB copy takes 0.1-0.2 s and, with its
    // flush, can be what the staging waits for last. A copy made ahead is linked into place
    // instead: `dest` must not exist, as with the copy's EXCL.
    const copying = (async () => {
      const made = await opts.ahead?.take(base.path);
      if (made === undefined) return copyFileAligned(base.path, dest);
      await link(made, dest).finally(() => unlink(made).catch(() => {}));
    })();
    opts.onStart?.();
    const headStart = opts.flush ? flushWhile(dest, copying).catch(() => {}) : undefined;
    const src = await open(base.path, 'r').catch(async (x: unknown) => {
      await Promise.allSettled([copying, headStart]);
      throw x;
    });
    try {
      await copying;
      trace('base copied');
      await headStart;
      // The rest of the copy's flush starts now, beside the patching (which waits on the
      // transfer when the file is written early): the final sync then has only the patched pages
      // left to write.
      await patchOver(opts, src, from, (i, at) => from[i] === at, opts.flush === true);
    } finally {
      await src.close();
    }
    return true;
  }
  opts.ahead?.drop(base.path);
  const bases = await openBase(base.path);
  const src = bases.fh;
  try {
    const fh = await open(dest, 'wx', e.mode & 0o777);
    opts.onStart?.();
    try {
      // A large file with direct writes (aligned-writes.ts): its new chunks then come through
      // `chunk` only, the direct sink left closed, so that nothing writes into it through the cache.
      const aligned =
        e.size >= ALIGNED_MIN && opts.aligned !== false ? await openAligned(dest, base.path) : undefined;
      if (aligned) {
        trace(`writing in order with direct I/O: ${e.path}`);
        try {
          await writeAligned(aligned, bases, e, from, opts.chunk);
          return true;
        } catch (x) {
          // A direct write refused after all: written anew through the cache below.
          if (!refused(x)) throw x;
          await fh.truncate(0);
        } finally {
          await closeAligned(aligned);
        }
      }
      opts.direct?.open((data, at) => writeAll(fh, data, at));
      await patch(fh, src, opts, from, undefined, opts.flush === true);
    } finally {
      await opts.direct?.close();
      await fh.close();
    }
    return true;
  } finally {
    await closeBase(bases);
  }
}

/**
 * Writes `opts.e` over the copy of its base made ahead with `shift`, if it is handed over (else
 * false, nothing written): the chunks `kept` are at their place in it; every other is written, and
 * the file cut or extended to its length.
 */
async function overShifted(
  opts: Parameters<typeof writeFromBase>[0],
  from: number[],
  kept: boolean[],
  shift: Shift,
): Promise<boolean> {
  const { e, dest, base } = opts;
  const made = await opts.ahead!.take(base.path, shift);
  if (made === undefined) return false;
  trace(`writing over a copy made ahead, its base's bytes from ${shift.from} at ${shift.at}: ${e.path}`);
  await link(made, dest).finally(() => unlink(made).catch(() => {}));
  opts.onStart?.();
  const src = await open(base.path, 'r');
  try {
    await patchOver(opts, src, from, (i) => kept[i] === true, false);
  } finally {
    await src.close();
  }
  return true;
}

/**
 * The chunks of `opts.e` not at their place (`skip`) written over the copy at `opts.dest`, cut or
 * extended to its length. `flushAhead`: the copy's own flush started first, beside the patching
 * (else the patching syncs as it goes when `opts.flush` asks).
 */
async function patchOver(
  opts: Parameters<typeof writeFromBase>[0],
  src: FileHandle,
  from: number[],
  skip: (i: number, offset: number) => boolean,
  flushAhead: boolean,
): Promise<void> {
  const fh = await open(opts.dest, 'r+');
  const flushing = flushAhead ? fh.datasync() : undefined;
  flushing?.catch(() => {});
  try {
    await fh.truncate(opts.e.size);
    opts.direct?.open((data, at) => writeAll(fh, data, at));
    await patch(fh, src, opts, from, skip, !flushAhead && opts.flush === true);
    await flushing;
  } finally {
    await opts.direct?.close();
    await fh.close();
  }
}

/**
 * Flushes what the kernel's copy into `dest` has written so far, again and again until `copying`
 * settles: the disk writes the copy's first pages while it makes the last ones, instead of all
 * 200 MB after it (~90 ms here). A head start only, never failing: the writer's own sync follows.
 */
async function flushWhile(dest: string, copying: Promise<void>): Promise<void> {
  let done = false;
  const settled = copying.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  // The copy has made the file and some of its pages by then.
  await Promise.race([settled, new Promise((r) => setTimeout(r, FLUSH_START_MS))]);
  if (done) return;
  const fh = await open(dest, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    while (!done) {
      await fh.datasync().catch(() => {});
      if (!done) await Promise.race([settled, new Promise((r) => setTimeout(r, FLUSH_START_MS))]);
    }
  } finally {
    await fh.close();
  }
}

/** The pause before a copy's flush begins, and between two of them. */
const FLUSH_START_MS = 10;

/** Lane buffers grow in steps of this many bytes, up to BLOCK. */
const LANE_STEP = 256 * 1024;

/**
 * A lane buffer for a run of `len` bytes: rounded up to a step, so that runs of about the same
 * length share one buffer, but not to BLOCK. An edit in place copies short runs (the base chunks
 * that moved), and three 4 MiB buffers per file for them were 12 MB of the agent's native heap
 * per deploy, which glibc keeps once it has grown (the agent's peak RSS over a sequence of edits).
 */
function laneSize(len: number): number {
  return len >= BLOCK ? len : Math.min(BLOCK, Math.ceil(len / LANE_STEP) * LANE_STEP);
}

/** Chunks from the index being waited for, read or written at once. */
const AHEAD = 16;

/**
 * Blocks of the base being copied at once (read, then written). Two, one read beside one write,
 * kept the in-order write of the 200 MB file (4 KB inserted at its start) on one core.
 */
const LANES = 3;

/** With `flush`, a flush of what was written so far starts every this many bytes written in order. */
const FLUSH_EVERY = 32 * 1024 * 1024;

/**
 * Writes every chunk of `e` into `fh` at its offset, except those `skip` says are at their place
 * in it already (the copied base's). Consecutive chunks that are consecutive in the base are
 * read in one block. A chunk from the index is written when it comes (it may still be on its way
 * when the file is written early), not in file order: the base's runs after it are written
 * meanwhile. With `flush`, what was written is flushed as the writing goes on (a head start for
 * the final sync, not durability).
 */
async function patch(
  fh: FileHandle,
  src: FileHandle,
  opts: { e: FileEntry; chunk: (id: ChunkId) => Promise<Buffer | undefined> },
  from: number[],
  /** Whether chunk i, at `offset`, is at its place in the file already (not written). */
  skip: ((i: number, offset: number) => boolean) | undefined,
  flush = false,
): Promise<void> {
  const { e } = opts;
  // Chunks from the index, each written once it has come; all settled before this returns, so
  // nothing writes into the file after it is closed.
  const coming: Promise<void>[] = [];
  let waited = 0;
  let failed = false;
  let flushing: Promise<void> | undefined;
  let unflushed = 0;
  // LANES block buffers for the runs read from the base, taking turns: each block is read and
  // then written while the next ones are (the kernel's copies on both cores), and no buffer is
  // made per block (a fresh 4 MiB each made 200 MB of short-lived Buffers for a 200 MB file, for
  // the GC to chase).
  const scratch: (Buffer | undefined)[] = [];
  const copies: (Promise<void> | undefined)[] = [];
  let turn = 0;
  let offset = 0;
  let i = 0;
  while (i < e.chunks.length) {
    const [id, size] = e.chunks[i]!;
    const b = from[i]!;
    if (b < 0) {
      const at = offset;
      const one = opts.chunk(id).then((data) => {
        // Written into the file as it arrived (direct-file.ts).
        if (data === undefined) return;
        if (data.length !== size)
          throw new Error(
            `chunk ${id.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
          );
        return writeAll(fh, data, at);
      });
      // Observed below; a failure stops the base's runs too.
      one.catch(() => {
        failed = true;
      });
      coming.push(one);
      // At most AHEAD at once: chunks already in the index (a retry's pooled ones) are all read
      // at once otherwise, a 10% edit of the 200 MB file 30 MB of them.
      if (coming.length - waited >= AHEAD) await coming[waited++]!.catch(() => {});
      offset += size;
      i++;
      continue;
    }
    if (failed) break;
    if (skip?.(i, offset)) {
      offset += size;
      i++;
      continue;
    }
    // A run of chunks that follow each other in the base too, read as one block of at most
    // BLOCK bytes (one chunk alone may be more), so that the two buffers are made once: a run
    // allowed to end past BLOCK made a new, slightly larger buffer whenever a run outgrew the
    // last (40 MB of them awaiting collection during the 200 MB file's 4 KB shift).
    let len = size;
    let j = i + 1;
    while (j < e.chunks.length && len + e.chunks[j]![1] <= BLOCK) {
      const next = from[j]!;
      if (next !== b + len || skip?.(j, offset + len)) break;
      len += e.chunks[j]![1];
      j++;
    }
    // This lane's last block is written before its buffer takes the next (its failure thrown here).
    await copies[turn];
    let block = scratch[turn];
    if (!block || block.length < len) scratch[turn] = block = Buffer.allocUnsafeSlow(laneSize(len));
    const buf = block.subarray(0, len);
    const at = offset;
    const copy = (async () => {
      const { bytesRead } = await src.read(buf, 0, len, b);
      if (bytesRead !== len) throw new Error(`the earlier ${e.path} is shorter than its manifest says`);
      await writeAll(fh, buf, at);
    })();
    // Awaited before its buffer is reused and at the end; this only keeps a failure from being
    // reported as unhandled meanwhile.
    copy.catch(() => {});
    copies[turn] = copy;
    turn = (turn + 1) % LANES;
    offset += len;
    i = j;
    unflushed += len;
    if (flush && unflushed >= FLUSH_EVERY && !flushing) {
      unflushed = 0;
      // Covers the blocks written before it started; the next may start once it is done.
      flushing = fh.datasync().finally(() => {
        flushing = undefined;
      });
      flushing.catch(() => {});
    }
  }
  const settled = await Promise.allSettled([...copies, flushing, ...coming]);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  if (offset !== e.size) throw new Error(`${e.path} came out ${offset} bytes, the manifest says ${e.size}`);
}

async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
