/**
 * A base (the earlier version of a file an edit is written from) opened for reading: through the
 * page cache, and with direct reads too when this agent wrote the file with direct writes
 * (aligned-writes.ts, direct-blocks.ts, copy-direct.c), whose pages are then most likely in no
 * cache. Which files were so written is kept here, by device and inode.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** File offsets, lengths and buffer addresses of direct reads are multiples of this. */
const ALIGN = 4096;

/** The base, open as usual and, when it was written with direct I/O here, for direct reads too. */
export interface BaseFiles {
  fh: FileHandle;
  direct?: FileHandle;
}

/**
 * Opens `path` (a base) for direct reads too if this process wrote it with direct writes: its
 * pages are then most likely in no cache, and reading it through the cache would fill fresh
 * pages again (a 200 MB read: ~340 ms of CPU here, against ~75 ms read direct). A base read
 * through the cache since is read from the disk again here: the price of not knowing. The copy
 * made by the addon (copy-direct.c) asks the cache block by block and reads what is there through
 * it (the 200 MB base, cached by a check of its release: ~190 -> ~100 ms).
 */
export async function openBase(path: string): Promise<BaseFiles> {
  const fh = await open(path, 'r');
  const direct = (constants as Record<string, number | undefined>).O_DIRECT;
  try {
    if (direct === undefined || !wroteDirect(await fh.stat())) return { fh };
  } catch (x) {
    await fh.close();
    throw x;
  }
  return { fh, direct: await open(path, constants.O_RDONLY | direct).catch(() => undefined) };
}

export async function closeBase(b: BaseFiles): Promise<void> {
  await Promise.all([b.fh.close(), b.direct?.close()]);
}

/**
 * Reads `len` bytes of the base at `pos` into `buf` at `at` (an aligned buffer); whether all
 * came. Direct where the bytes keep their place within a block (an edit in place, a shift by
 * whole blocks) and span one: the run's whole blocks read direct, its ragged ends through the cache.
 */
export async function readBase(
  src: BaseFiles,
  buf: Buffer,
  at: number,
  len: number,
  pos: number,
): Promise<boolean> {
  const a0 = Math.ceil(pos / ALIGN) * ALIGN;
  const a1 = Math.floor((pos + len) / ALIGN) * ALIGN;
  if (!src.direct || (pos - at) % ALIGN !== 0 || a1 - a0 < ALIGN) {
    const { bytesRead } = await src.fh.read(buf, at, len, pos);
    return bytesRead === len;
  }
  const parts = [
    [pos, a0 - pos, src.fh],
    [a0, a1 - a0, src.direct],
    [a1, pos + len - a1, src.fh],
  ] as const;
  const got = await Promise.all(
    parts.map(async ([p, n, fh]) => n === 0 || (await fh.read(buf, at + (p - pos), n, p)).bytesRead === n),
  );
  return got.every(Boolean);
}

/**
 * Files this process wrote with direct writes, by device and inode; the oldest forgotten first.
 * A file removed since leaves its inode here for a new file to take: that one is then read direct
 * too, from the disk, which costs a read but reads the same bytes.
 */
const written = new Set<string>();
const WRITTEN_MAX = 4096;

/** Notes a file written with direct writes (direct-blocks.ts too): read direct as a base. */
export function noteWrittenDirect(st: { dev: number; ino: number }): void {
  const key = `${st.dev}:${st.ino}`;
  written.delete(key);
  written.add(key);
  if (written.size > WRITTEN_MAX) written.delete(written.values().next().value!);
}

function wroteDirect(st: { dev: number; ino: number }): boolean {
  return written.has(`${st.dev}:${st.ino}`);
}
