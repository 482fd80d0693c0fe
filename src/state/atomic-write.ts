/**
 * The one atomic writer: a reader sees the old file or the new one, never a half-written one.
 * The text goes to a temporary name in the same folder (so the rename stays within one file
 * system), then is renamed over the target. `durable` also fsyncs the file before the rename and
 * the folder after it, so the new name survives a power cut, not only a crash of the process.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Flushes a file's data, or a folder's names (a rename into it), to the disk. */
export async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `text` to `file` atomically (creating its folder), on the calling thread: for Slipway's
 * own state files, which a crash may lose (the next run recomputes them) but never tear.
 */
export function writeAtomicSync(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    // A full disk or a failed rename leaves no temporary file behind.
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes `text` to `file` atomically; with `durable` (the default) fsynced, file then folder. */
export async function writeAtomic(
  file: string,
  text: string | Uint8Array,
  opts: { durable?: boolean } = {},
): Promise<void> {
  const durable = opts.durable ?? true;
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    try {
      await fh.writeFile(text);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (e) {
    // A full disk or a failed rename leaves no temporary file behind.
    await rm(tmp, { force: true });
    throw e;
  }
  if (durable) await fsyncPath(path.dirname(file));
}
