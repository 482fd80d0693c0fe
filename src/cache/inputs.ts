/**
 * Which files a task reads, with their content ids: git's object ids for clean tracked files,
 * the fingerprint cache for the rest, a folder walk when there is no repository.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { STATE_DIR_NAME } from '../state/paths.js';
import { err, ok, type Result } from '../util/result.js';
import type { FingerprintCache } from './fingerprints.js';
import { type GitSnapshot, underPrefix } from './git-snapshot.js';
import { isSafeRelative, toPosixRelative } from './safe-path.js';
import { globSet, SKIP_DIRS, walk } from './walk.js';

/** Slipway's own state folder, never an input even where git tracks it. */
const STATE_PREFIX = `${STATE_DIR_NAME}/`;

/** [path relative to the task's folder, content id], sorted by path. */
export type InputList = [string, string][];

export interface InputSpec {
  /** Absolute folder the globs are relative to. */
  cwd: string;
  /** Globs; undefined means every file git knows about under `cwd`. */
  inputs?: readonly string[];
  /** Globs of files the task writes; never inputs. */
  outputs: readonly string[];
}

export class InputResolver {
  /**
   * True once a list of inputs came from walking folders rather than from git (no repository,
   * or a glob base outside it): new files there change inputs without changing anything git says.
   */
  outsideGit = false;
  readonly #real = new Map<string, string>();
  /** Real folder -> its path inside the repository. */
  readonly #inRepo = new Map<string, string>();

  constructor(
    private readonly snapshot: GitSnapshot | undefined,
    private readonly fingerprints: FingerprintCache,
    /** The project root; folders below it are resolved relative to its real path. */
    private readonly root?: string,
  ) {
    if (root) this.#realpath(root);
  }

  /** Resolves and hashes a task's inputs; fails on a glob that leaves the repository. */
  resolve(spec: InputSpec): Result<InputList, string> {
    const cwd = this.#realpath(spec.cwd);
    // Default inputs match everything: skip the per-file glob test.
    const everything = spec.inputs === undefined;
    const globs = globSet(spec.inputs ?? ['**']);
    const outputs = spec.outputs.length ? globSet(spec.outputs) : undefined;
    /** cwd-relative path -> absolute path or repository path (when git knows it). */
    const found = new Map<string, string | undefined>();
    const snap = this.snapshot;
    let cwdInRepo = this.#inRepo.get(cwd);
    if (cwdInRepo === undefined) {
      cwdInRepo = snap ? toPosixRelative(snap.top, cwd) : '';
      this.#inRepo.set(cwd, cwdInRepo);
    }
    // The common case (default inputs, or globs with one base inside the repository): walk git's
    // sorted list once, no intermediate map, no sort.
    const only = globs.bases.length === 1 ? globs.bases[0] : undefined;
    if (snap && only === '' && inScope(snap.scope, cwdInRepo)) {
      const out: InputList = [];
      for (const p of underPrefix(snap.paths, cwdInRepo)) {
        const rel = relativeTo(cwdInRepo, p);
        if ((!everything && !globs.match(rel)) || outputs?.match(rel) || rel.startsWith(STATE_PREFIX))
          continue;
        const id = snap.oids.get(p) ?? this.fingerprints.hash(path.join(snap.top, p));
        if (id !== undefined) out.push([rel, id]);
      }
      return ok(out);
    }
    for (const base of globs.bases) {
      const inRepo = snap
        ? base === ''
          ? cwdInRepo
          : toPosixRelative(snap.top, path.resolve(cwd, base))
        : '..';
      if (snap && inScope(snap.scope, inRepo)) {
        for (const p of underPrefix(snap.paths, inRepo)) found.set(relativeTo(cwdInRepo, p), p);
        // A literal path git ignores (a generated .env, say) still counts when named explicitly.
        if (base !== '' && !found.has(base)) found.set(base, undefined);
      } else if (snap && !(inRepo === '' || isSafeRelative(inRepo))) {
        return err(`input glob base "${base}" is outside the repository ${snap.top}`);
      } else {
        const rel = toPosixRelative(cwd, path.resolve(cwd, base));
        this.outsideGit = true;
        for (const e of walk(cwd, rel, SKIP_DIRS)) if (e.kind !== 'dir') found.set(e.path, undefined);
        if (rel !== '' && !found.has(rel)) found.set(rel, undefined);
      }
    }
    const out: InputList = [];
    for (const [rel, repoPath] of found) {
      if ((!everything && !globs.match(rel)) || outputs?.match(rel) || rel.startsWith(STATE_PREFIX)) continue;
      const id =
        (repoPath !== undefined ? snap?.oids.get(repoPath) : undefined) ??
        this.fingerprints.hash(
          repoPath !== undefined && snap ? path.join(snap.top, repoPath) : path.join(cwd, rel),
        );
      if (id !== undefined) out.push([rel, id]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return ok(out);
  }

  #realpath(p: string): string {
    let r = this.#real.get(p);
    if (r === undefined) {
      // Folders under the project root resolve through the root's real path: one realpath call
      // per run instead of one per package (a symlinked package folder is the rare exception).
      const root = this.root;
      const rootReal = root ? this.#real.get(root) : undefined;
      if (root && rootReal && p.startsWith(`${root}${path.sep}`)) r = rootReal + p.slice(root.length);
      else {
        // A folder outside the root: where it leads is not something git reports.
        if (root && p !== root) this.outsideGit = true;
        try {
          r = realpathSync(p);
        } catch {
          r = p;
        }
      }
      this.#real.set(p, r);
    }
    return r;
  }
}

function inScope(scope: string, p: string): boolean {
  return scope === '' || p === scope || p.startsWith(`${scope}/`);
}

/** `p` (relative to the repository) seen from folder `dir` (also relative to the repository). */
function relativeTo(dir: string, p: string): string {
  if (dir === '') return p;
  if (p.startsWith(`${dir}/`)) return p.slice(dir.length + 1);
  return path.posix.relative(dir, p);
}
