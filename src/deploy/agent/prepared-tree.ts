/**
 * A first release's folders and empty files, created while the deployer is still reading and
 * hashing the artifact. On a host without releases every file is new, and creating 20,000 of
 * them (the inode allocation) is most of the agent's work: done ahead, it overlaps the deployer's
 * chunking instead of following it. The deployer sends the artifact's outline (paths only, folders
 * ending in `/`, in manifest order) before its manifest exists (POST /v1/prepare, optional: an
 * agent without it answers 404 and nothing changes). The tree is built in
 * `staging/.prepared-<random>` and becomes a staging folder only when the manifest that arrives
 * has exactly the outline's folders and files in the same order (symlinks aside); otherwise it is
 * deleted. It holds empty files of our own only, so a crash leaves nothing a release could use:
 * the folder is swept at the next start (staging-area.ts removes what is not a release's).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readFileSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { err, ok, type Result } from '../../util/result.js';
import { type Manifest, parentOf, unsafePathReason } from '../manifest.js';
import { staysInside } from './inside.js';

/** Files and folders created between two turns of the event loop (a few milliseconds' work). */
const SLICE = 256;

/** The outline's own check: safe relative paths, each after its parent folder, no duplicates. */
export function checkOutline(paths: readonly string[]): Result<void, string> {
  const dirs = new Set<string>();
  const seen = new Set<string>();
  for (const p of paths) {
    const dir = p.endsWith('/');
    const rel = dir ? p.slice(0, -1) : p;
    const why = unsafePathReason(rel);
    if (why) return err(`refused path ${JSON.stringify(p)}: ${why}`);
    if (seen.has(rel)) return err(`duplicate path ${JSON.stringify(p)}`);
    seen.add(rel);
    const parent = parentOf(rel);
    if (parent !== '.' && !dirs.has(parent))
      return err(
        `path ${JSON.stringify(p)} must come after its parent folder ${JSON.stringify(`${parent}/`)}`,
      );
    if (dir) dirs.add(rel);
  }
  return ok(undefined);
}

/** The outline of a manifest: what a prepared tree must hold to become its staging folder. */
export function outlineOf(manifest: Manifest): string[] {
  const out: string[] = [];
  for (const e of manifest.entries) {
    if (e.type === 'dir') out.push(`${e.path}/`);
    else if (e.type === 'file') out.push(e.path);
  }
  return out;
}

/** Descriptors a tree leaves to the rest of the agent (connections, packs, reads of releases). */
const RESERVED_FDS = 4096;

/**
 * How many descriptors of created files a tree keeps open for the staging folder it becomes
 * (takeOpen): this process's limit but RESERVED_FDS, at least a quarter of it, at most 65,536;
 * 256 where the limit is unknown. Each file not kept is opened a second time to be written (with
 * a limit of 20,000 and a quarter kept, 15,000 of the 20,000-file shape's were).
 */
function keptOpenLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) {
      const limit = Number(m[1]);
      return Math.min(65_536, Math.max(Math.floor(limit / 4), limit - RESERVED_FDS));
    }
  } catch {}
  return 256;
}

export class PreparedTree {
  /** Settles true once every folder and file exists, false when creating them failed. */
  readonly done: Promise<boolean>;
  #cancelled = false;
  /**
   * Created files still open, by their rank among the outline's files (the manifest's order, which
   * matches() checks): the staging folder writes each through its descriptor (takeOpen) instead
   * of opening it again (web build: 2,000 opens and closes fewer), and finds it without a lookup
   * by path per file.
   */
  #open = new Map<number, number>();
  /** Set by closeOpen: files created from then on are closed at once. */
  #keepNone = false;

  private constructor(
    readonly dir: string,
    readonly outline: readonly string[],
  ) {
    this.done = this.#build().then(
      () => !this.#cancelled,
      () => false,
    );
  }

  /** Starts creating `outline` (checked with checkOutline) in a fresh folder under `staging`. */
  static start(staging: string, outline: readonly string[]): PreparedTree {
    return new PreparedTree(path.join(staging, `.prepared-${randomBytes(6).toString('hex')}`), outline);
  }

  /** Whether `manifest`'s folders and files are exactly this tree's, in the same order. */
  matches(manifest: Manifest): boolean {
    const want = outlineOf(manifest);
    return want.length === this.outline.length && want.every((p, i) => p === this.outline[i]);
  }

  /** Once built, moves the tree to `dest` (which must not exist); false when it could not. */
  async moveTo(dest: string): Promise<boolean> {
    if (!(await this.done)) return false;
    return rename(this.dir, dest).then(
      () => true,
      () => false,
    );
  }

  /**
   * Once moved (moveTo), the descriptors of the files still open, by the file's rank among the
   * outline's files, which is its rank among the manifest's (each writable, the
   * file empty as created): the caller owns and closes them; the tree keeps none.
   */
  takeOpen(): Map<number, number> {
    const open = this.#open;
    this.#open = new Map();
    return open;
  }

  #closeAll(): void {
    for (const fd of this.takeOpen().values()) {
      try {
        closeSync(fd);
      } catch {}
    }
  }

  /**
   * Closes the files kept open, and keeps no more: the tree stays usable (the staging folder
   * opens its files itself). For a tree whose release is slow to come (a deployer gone).
   */
  closeOpen(): void {
    this.#keepNone = true;
    this.#closeAll();
  }

  /** Stops building and closes the files kept open; what was made stays (swept at the next start). */
  async stop(): Promise<void> {
    this.#cancelled = true;
    await this.done;
    this.#closeAll();
  }

  /** Stops building and deletes what was made. */
  async discard(): Promise<void> {
    await this.stop();
    // A leftover is swept when the agent next starts (staging-area.ts reopen).
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }

  async #build(): Promise<void> {
    try {
      await this.#create();
    } catch (e) {
      this.#closeAll();
      throw e;
    }
  }

  async #create(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    const keep = keptOpenLimit();
    // Synchronous calls in slices: one thread-pool round trip per file costs more than the
    // creation itself, and the slices leave the event loop free for the stage request.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    let files = 0;
    for (let i = 0; i < this.outline.length; i++) {
      if (i % SLICE === 0) {
        await yieldLoop();
        if (this.#cancelled) return;
      }
      const p = this.outline[i]!;
      // Checked by checkOutline; again here, cheaply (no path.join of 20,000 paths).
      if (!staysInside(p)) throw new Error(`refused path ${p}`);
      const dest = `${this.dir}${path.sep}${p}`;
      // The outline has no modes: the commonest, corrected where it differs once the file is
      // complete (staging-files.ts).
      if (p.endsWith('/')) mkdirSync(dest, { mode: 0o755 });
      else {
        const fd = openSync(dest, flags, 0o644);
        if (!this.#keepNone && this.#open.size < keep) this.#open.set(files, fd);
        else closeSync(fd);
        files++;
      }
    }
  }
}
