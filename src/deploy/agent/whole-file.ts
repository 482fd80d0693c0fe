/**
 * A small file of a streamed stage created whole (stream-files.ts #placeWhole): created (never
 * through a symlink, never over a file: O_NOFOLLOW, O_EXCL) with its mode plus the owner's read
 * and write bits, written, given its mode, closed; its mtime as written returned. One call into
 * the native addon (whole-file.c, dist/cli/whole-file.node) where the build compiled it and it
 * loads, else the same four system calls from JavaScript, each of which costs about 1 us of
 * JavaScript and binding besides the call itself (an error context, argument checks, a stats
 * array: 80,000 of them for a first deploy of 20,000 files). `SLIPWAY_NATIVE_WRITES=0` keeps to
 * JavaScript. The addon's first file is checked against lstat (its size, mode and mtime): any
 * difference, and JavaScript makes every file after it. Tried and dropped: the same calls in
 * batches on a thread of libuv's pool, leaving the main thread to the next chunks (~300 ms less
 * on it for 20,000 files, but 60-200 ms more CPU and 10 MB more memory, and a first deploy of
 * 20,000 files 1.13x slower over 8 pairs against this: the cores are busy until the last chunks).
 * Tried again for the web build's files of 16 KB and more (2,000 of ~25 KB; one async work of
 * the addon per file): the main thread's kernel time -60 ms, its user time +60 ms (a promise and
 * a callback per file), the agent's CPU +60 ms, wall 1.087 (8 pairs, load 6).
 */
import { closeSync, constants, fchmodSync, lstatSync, openSync, writeSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { fstatNumbers } from '../../util/lstat-numbers.js';
import { type NativeWriteWhole, nativeAddon } from './native-addon.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The addon's call while it is trusted; false when absent, refused or found wrong; undefined before the first file. */
let native: NativeWriteWhole | false | undefined;
/** Whether the addon's first file was checked. */
let checked = false;

function load(): NativeWriteWhole | false {
  return nativeAddon()?.writeWhole ?? false;
}

/** Whether files are made by the native addon (for tests). */
export function nativeWholeFiles(): boolean {
  native ??= load();
  return native !== false;
}

/**
 * Creates `file` with `data` at offset `at` and mode `mode` (its permission bits); returns its
 * mtime in ms as fs.Stats gives it. Throws as fs calls do (code, errno, path); a file created
 * whose write failed stays, incomplete.
 */
export function writeWhole(file: string, data: Buffer, at: number, mode: number): number {
  native ??= load();
  if (!native) return writeWholeJs(file, data, at, mode);
  const r = native(file, data, at, mode);
  if (r < 0) throw failure(r, file);
  if (checked) return r;
  checked = true;
  const st = lstatSync(file);
  if (st.isFile() && st.size === at + data.length && (st.mode & 0o777) === (mode & 0o777) && st.mtimeMs === r)
    return r;
  native = false;
  return st.mtimeMs;
}

/** The same in JavaScript. */
export function writeWholeJs(file: string, data: Buffer, at: number, mode: number): number {
  const fd = openSync(file, CREATE, (mode & 0o777) | 0o600);
  try {
    const size = data.length;
    for (let n = 0; n < size; ) n += writeSync(fd, data, n, size - n, at + n);
    // Its numbers only: no Stats object and four Dates per file (as staging-files.ts settles).
    const st = fstatNumbers(fd);
    if ((st.mode & 0o777) !== (mode & 0o777)) fchmodSync(fd, mode & 0o777);
    return st.mtimeMs;
  } finally {
    closeSync(fd);
  }
}

/** An fs-like error for the addon's negative errno. */
function failure(errno: number, file: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(errno);
  } catch {
    code = `E${-errno}`;
  }
  const e: NodeJS.ErrnoException = new Error(`${code}: cannot create and write, open '${file}'`);
  e.code = code;
  e.errno = errno;
  e.path = file;
  e.syscall = 'open';
  return e;
}
