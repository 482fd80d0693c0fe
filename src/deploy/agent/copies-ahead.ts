/**
 * Copies of large files' earlier versions made ahead of the stage request that will want them.
 * A deployer that lists a large file as changed in place (same size as last deployed) says so
 * before it chunks the file (deploy.ts); this agent then copies that file's earlier version (the
 * base file-from-base.ts would pick) while the deployer reads and hashes 200 MB, and the
 * staging's write from base takes the finished copy instead of starting one.
 *
 * A file whose length changed (bytes inserted or removed) can be named with a shift too: its bytes
 * from `at` on are predicted to be the base's from `from` on (the deployer found the base's last
 * chunk so moved). The copy is then the base's bytes from `from` put at `at`, its head a stand-in,
 * and the staging writes every chunk not found at its place in it (file-from-base.ts).
 *
 * Only a head start, never trusted more than the base itself: a copy is taken only when the base
 * still has the size and mtime it had when the copy began (the same proof file-index.ts asks of
 * a base), and the staging writes every changed chunk over it as it would over its own copy. A
 * copy not taken within `ttlMs` is removed; one left by a crash is a name in staging/ that is no
 * release's, which the start-up sweep removes (staging-area.ts reopen).
 */
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { trace } from '../../util/trace.js';
import { copyFileAligned } from './aligned-writes.js';
import { copyShifted } from './shifted-copy.js';

/** A kept release's file to copy, as stated when found untouched since its assembly. */
export interface AheadBase {
  path: string;
  size: number;
  mtimeMs: number;
}

/** A copy's bytes from `at` on are its base's from `from` on; before `at`, the base's first `at` bytes. */
export interface Shift {
  at: number;
  from: number;
}

/** What file-from-base.ts asks of copies made ahead. */
export interface AheadCopies {
  /**
   * The finished copy of the base at `basePath`, now the caller's (to link into place and
   * unlink), or undefined when none was made, it cannot be trusted, or it was made with another
   * shift than `shift` (none: a plain copy). A copy not handed over is removed.
   */
  take(basePath: string, shift?: Shift): Promise<string | undefined>;
  /** The shift of the copy of `basePath` under way or kept, if it has one. */
  shiftOf?(basePath: string): Shift | undefined;
  /** The copy of `basePath` will not be wanted (the file is written in order): removed. */
  drop(basePath: string): void;
}

interface Ahead {
  base: AheadBase;
  shift?: Shift;
  dest: string;
  /** Whether the copy is whole, the base unchanged while it was made. */
  done: Promise<boolean>;
  timer: NodeJS.Timeout;
}

/** At most this many copies at once: each costs disk space the size of its base. */
const MAX_COPIES = 8;

export class CopiesAhead implements AheadCopies {
  readonly #byBase = new Map<string, Ahead>();
  #made = 0;

  /** Copies into `dir` (the staging folder: the same filesystem as the releases staged there). */
  constructor(
    readonly dir: string,
    readonly ttlMs = 60_000,
  ) {}

  /**
   * Starts copying `base` (with `shift`, moved: see Shift) unless a copy of it is under way or
   * kept; whether it started. A shift past the base's end, or none at all (`at` = `from`), is no shift.
   */
  start(base: AheadBase, shift?: Shift): boolean {
    if (this.#byBase.has(base.path) || this.#byBase.size >= MAX_COPIES) return false;
    if (shift && (!validShift(shift, base.size) || shift.at === shift.from)) return false;
    // A leading dot: never a release id (types.ts), so never taken for a staging folder.
    const dest = path.join(this.dir, `.ahead-${process.pid}-${++this.#made}`);
    const done = copy(base, dest, shift);
    const timer = setTimeout(() => this.drop(base.path), this.ttlMs);
    timer.unref();
    this.#byBase.set(base.path, { base, dest, done, timer, ...(shift ? { shift: { ...shift } } : {}) });
    return true;
  }

  shiftOf(basePath: string): Shift | undefined {
    const s = this.#byBase.get(basePath)?.shift;
    return s && { ...s };
  }

  async take(basePath: string, shift?: Shift): Promise<string | undefined> {
    const a = this.#forget(basePath);
    if (!a) return undefined;
    const same =
      shift === undefined ? a.shift === undefined : a.shift?.at === shift.at && a.shift.from === shift.from;
    const whole = (await a.done) && same;
    const st = whole ? await stat(basePath).catch(() => undefined) : undefined;
    if (st && st.size === a.base.size && st.mtimeMs === a.base.mtimeMs) {
      trace(`copy ahead taken: ${basePath}`);
      return a.dest;
    }
    await rm(a.dest, { force: true });
    return undefined;
  }

  drop(basePath: string): void {
    const a = this.#forget(basePath);
    if (a) void a.done.then(() => rm(a.dest, { force: true })).catch(() => {});
  }

  /** Whether the copy of `basePath` came out whole, once it is done; undefined without one (for tests). */
  whenCopied(basePath: string): Promise<boolean> | undefined {
    return this.#byBase.get(basePath)?.done;
  }

  /** Copies under way or kept (for tests). */
  get size(): number {
    return this.#byBase.size;
  }

  /** Removes every copy (the agent stops). */
  async stop(): Promise<void> {
    const all = [...this.#byBase.keys()].map((b) => this.#forget(b)!);
    await Promise.all(all.map((a) => a.done.then(() => rm(a.dest, { force: true })).catch(() => {})));
  }

  #forget(basePath: string): Ahead | undefined {
    const a = this.#byBase.get(basePath);
    if (!a) return undefined;
    this.#byBase.delete(basePath);
    clearTimeout(a.timer);
    return a;
  }
}

/**
 * Copies `base` to `dest` (a clone where the filesystem can, else direct writes: aligned-writes.ts);
 * whether the copy is whole, the base unchanged meanwhile. Never rejects. Not flushed here: the
 * staging flushes the file beside its patching, as it flushes a copy it makes itself. A flush of
 * 200 MB of the page cache while the deployer walks slowed the walk (the rechunk of that file, on
 * the critical path) from ~210 to ~370 ms here, the copy alone to ~240 (kernel writeback on this
 * two-core VM takes CPU from both cores); direct writes leave no such flush behind.
 */
async function copy(base: AheadBase, dest: string, shift?: Shift): Promise<boolean> {
  trace(`copying ahead: ${base.path}${shift ? ` (its bytes from ${shift.from} put at ${shift.at})` : ''}`);
  try {
    if (shift) await copyShifted(base.path, dest, shift.at, shift.from);
    else await copyFileAligned(base.path, dest);
    const st = await stat(base.path);
    if (st.size !== base.size || st.mtimeMs !== base.mtimeMs) throw new Error('the base changed');
    trace(`copied ahead: ${base.path}`);
    return true;
  } catch {
    await rm(dest, { force: true }).catch(() => {});
    return false;
  }
}

/** Whether `shift` is one a copy of a base of `size` bytes can be made with. */
export function validShift(shift: Shift, size: number): boolean {
  const ok = (n: number) => Number.isSafeInteger(n) && n >= 0 && n <= size;
  return ok(shift.at) && ok(shift.from);
}
