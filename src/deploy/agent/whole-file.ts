/**
 * A small file of a streamed stage created whole (stream-files.ts #placeWhole): created (never
 * through a symlink, never over a file: O_NOFOLLOW, O_EXCL) with its mode plus the owner's read
 * and write bits, written, given its mode, closed; its mtime as written returned. One call into
 * the native addon (whole-file.c, dist/cli/whole-file.node) where the build compiled it and it
 * loads, else the same four system calls from JavaScript, each of which costs about 1 us of
 * JavaScript and binding besides the call itself (an error context, argument checks, a stats
 * array: 80,000 of them for a first deploy of 20,000 files). `SLIPWAY_NATIVE_WRITES=0` keeps to
 * JavaScript; `SLIPWAY_NATIVE_WRITES=pool` makes them on a thread of libuv's pool (writeWholeLater),
 * which took ~300 ms off the agent's main thread on the 20,000 files' first deploy but added
 * 60-200 ms of CPU (a promise chain per file, the thread's wake-ups): not on by default until it
 * is shown to pay in wall time on a machine with a core to spare (measured only at load 6-17).
 * The addon's first file is checked against lstat (its size, mode and mtime): any difference, and
 * JavaScript makes every file after it.
 */
import { closeSync, constants, fchmodSync, lstatSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import { fstatNumbers } from '../../util/lstat-numbers.js';
import { bundleFile } from '../../util/package-info.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The addon's call: the mtime in ms, or a negative errno. */
type Native = (file: string, data: Buffer, at: number, mode: number) => number;
/** Its batch on libuv's pool: each file's mtime or negative errno, in order. */
type NativeBatch = (
  files: string[],
  datas: Buffer[],
  ats: number[],
  modes: number[],
) => Promise<Float64Array>;

/** The addon while it is trusted; false when absent, refused or found wrong; undefined before the first file. */
let native: Native | false | undefined;
let nativeBatch: NativeBatch | undefined;
/** Whether the addon's first file was checked. */
let checked = false;

function load(): Native | false {
  if (process.env.SLIPWAY_NATIVE_WRITES === '0') return false;
  try {
    const m = createRequire(import.meta.url)(bundleFile('whole-file.node')) as {
      writeWhole?: unknown;
      writeWholeBatch?: unknown;
    };
    if (typeof m.writeWholeBatch === 'function' && process.env.SLIPWAY_NATIVE_WRITES === 'pool')
      nativeBatch = m.writeWholeBatch as NativeBatch;
    return typeof m.writeWhole === 'function' ? (m.writeWhole as Native) : false;
  } catch {
    return false;
  }
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

/**
 * Files gathered are sent as a batch once this many are (or at the end of the event loop's turn),
 * while no batch runs: one at a time, so one thread of the pool makes files beside this one (four
 * at once took the two cores from the transfer's decoding and the deployer).
 */
const BATCH = 32;

/** The files gathered for the next batch, and what its callers wait on. */
class Gathered {
  readonly files: string[] = [];
  readonly datas: Buffer[] = [];
  readonly ats: number[] = [];
  readonly modes: number[] = [];
  readonly done: Promise<Float64Array>;
  resolve!: (r: Float64Array) => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.done = new Promise<Float64Array>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

let gathered: Gathered | undefined;
/** Whether a batch runs on the pool. */
let running = false;

/** Sends the files gathered as a batch unless one runs (then once it is over). */
function send(): void {
  const g = gathered;
  if (!g || running) return;
  gathered = undefined;
  running = true;
  let done: Promise<Float64Array>;
  try {
    done = nativeBatch!(g.files, g.datas, g.ats, g.modes);
  } catch (e) {
    running = false;
    g.reject(e);
    return;
  }
  done.then(
    (r) => {
      running = false;
      g.resolve(r);
      send();
    },
    (e: unknown) => {
      running = false;
      g.reject(e);
      send();
    },
  );
}

/**
 * As writeWhole, on a thread of libuv's pool (in batches of the files given while the one before
 * ran, or in one turn of the event loop), leaving this thread to the next chunks: the mtime once
 * written; undefined where only the synchronous call is there (the JavaScript path, or until the
 * addon's first file was checked: call writeWhole). `data` must stay unchanged until then.
 */
export function writeWholeLater(
  file: string,
  data: Buffer,
  at: number,
  mode: number,
): Promise<number> | undefined {
  if (!native || !checked || !nativeBatch) return undefined;
  let g = gathered;
  if (!g) {
    g = new Gathered();
    gathered = g;
    if (!running) setImmediate(send);
  }
  const i = g.files.length;
  g.files.push(file);
  g.datas.push(data);
  g.ats.push(at);
  g.modes.push(mode);
  const done = g.done.then((r) => {
    const v = r[i]!;
    if (v < 0) throw failure(v, file);
    return v;
  });
  if (i + 1 === BATCH) send();
  return done;
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
