/**
 * lstat for walks of many files (and fstat for files written by the thousand, fstatNumbers): the numbers a walk compares (device, mode, inode, size, mtime and
 * ctime in ms), without the Stats object and its four Date objects that `fs.lstatSync` builds
 * per call. For 20,000 unchanged files those were about a third of the walk's CPU and most of its
 * garbage: the chunk-ledger walk's CPU went from a median of 160 to 116 ms (alternating runs on
 * a loaded 2-core machine).
 *
 * The numbers are read from Node's own fs binding (`process.binding('fs')`, the array that
 * `lstatSync` itself reads), an interface Node does not document. So it is checked before use:
 * at the first call its answer for a path must equal `lstatSync`'s in every number kept; where
 * the binding is absent, refused (a permission model), throws, or answers anything else, every
 * call is `lstatSync`. A path the binding fails on goes to `lstatSync` too, for its error. Not
 * with --pending-deprecation either, under which `process.binding` prints a warning.
 */
import { fstatSync, lstatSync, type Stats } from 'node:fs';

/** What a walk keeps of a path's lstat. */
export interface StatNumbers {
  readonly dev: number;
  readonly mode: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

const S_IFMT = 0o170000;

class Numbers implements StatNumbers {
  constructor(
    readonly dev: number,
    readonly mode: number,
    readonly ino: number,
    readonly size: number,
    readonly mtimeMs: number,
    readonly ctimeMs: number,
  ) {}

  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }

  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }

  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
}

/** Node's binding call: the stat numbers of an open file (the same shared array); throws on a failure. */
type BindingFstat = (fd: number, bigint: false, req: undefined, shouldNotThrow: false) => unknown;

/** The binding's fstat while it has answered as fstatSync does; false once it has not; undefined before the check. */
let fbinding: BindingFstat | false | undefined;

/**
 * The numbers of an open file's fstat; throws as fstatSync does. The same shortcut as
 * lstatNumbers: an agent writing a first release's 20,000 files takes one per file as it completes
 * it (staging-files.ts), whose Stats object and Dates were a tenth of its transfer's garbage.
 */
export function fstatNumbers(fd: number): StatNumbers {
  if (fbinding === undefined) fbinding = checkedFstat(fd);
  if (fbinding) {
    const v = fromFstat(fbinding, fd);
    if (v) return v;
  }
  return fstatSync(fd);
}

function fromFstat(fstat: BindingFstat, fd: number): Numbers | undefined {
  try {
    return numbersOf(fstat(fd, false, undefined, false));
  } catch {
    return undefined;
  }
}

/**
 * The binding's fstat if it answers for `fd` exactly as fstatSync does, else false; undefined
 * when `fd` cannot be stated (checked again at the next call, fstatSync throwing meanwhile).
 */
function checkedFstat(fd: number): BindingFstat | false | undefined {
  let fstat: BindingFstat;
  try {
    const fs = bindingFs();
    if (!fs || typeof fs.fstat !== 'function') return false;
    fstat = fs.fstat.bind(fs) as BindingFstat;
  } catch {
    return false;
  }
  let v: unknown;
  try {
    v = fstat(fd, false, undefined, false);
  } catch {
    return undefined;
  }
  const n = numbersOf(v);
  try {
    return n && same(n, fstatSync(fd)) ? fstat : false;
  } catch {
    return undefined;
  }
}

/** Node's fs binding, or undefined under --pending-deprecation (process.binding would warn). */
function bindingFs(): { lstat?: unknown; fstat?: unknown } | undefined {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (flags.includes('--pending-deprecation')) return undefined;
  return (process as unknown as { binding(name: string): { lstat?: unknown; fstat?: unknown } }).binding(
    'fs',
  );
}

/** Node's binding call: the stat numbers of a path (a shared array, overwritten by the next call). */
type BindingLstat = (path: string, bigint: false, req: undefined, throwIfNoEntry: true) => unknown;

/** The binding's lstat while it has answered as lstatSync does; false once it has not; undefined before the check. */
let binding: BindingLstat | false | undefined;

/** The numbers of `path`'s lstat (of a symlink itself, not its target); throws as lstatSync does. */
export function lstatNumbers(path: string): StatNumbers {
  if (binding === undefined) binding = checked(path);
  if (binding) {
    const v = fromBinding(binding, path);
    if (v) return v;
  }
  return lstatSync(path);
}

function fromBinding(lstat: BindingLstat, path: string): Numbers | undefined {
  let v: unknown;
  try {
    v = lstat(path, false, undefined, true);
  } catch {
    return undefined;
  }
  return numbersOf(v);
}

/** The numbers kept of the binding's stat array, undefined when it is not one. */
function numbersOf(v: unknown): Numbers | undefined {
  if (!(v instanceof Float64Array) || v.length < 16) return undefined;
  // Laid out as uv_stat_t: dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, then
  // seconds and nanoseconds of atime, mtime, ctime; ms as lstatSync computes them.
  return new Numbers(v[0]!, v[1]!, v[7]!, v[8]!, v[12]! * 1e3 + v[13]! / 1e6, v[14]! * 1e3 + v[15]! / 1e6);
}

/** The binding's lstat if it answers for `path` exactly as lstatSync does, else false. */
function checked(path: string): BindingLstat | false {
  try {
    const fs = bindingFs();
    if (!fs || typeof fs.lstat !== 'function') return false;
    const lstat = fs.lstat.bind(fs) as BindingLstat;
    const v = fromBinding(lstat, path);
    return v && same(v, lstatSync(path)) ? lstat : false;
  } catch {
    return false;
  }
}

function same(v: StatNumbers, s: Stats): boolean {
  return (
    v.dev === s.dev &&
    v.mode === s.mode &&
    v.ino === s.ino &&
    v.size === s.size &&
    v.mtimeMs === s.mtimeMs &&
    v.ctimeMs === s.ctimeMs &&
    v.isFile() === s.isFile() &&
    v.isDirectory() === s.isDirectory() &&
    v.isSymbolicLink() === s.isSymbolicLink()
  );
}
