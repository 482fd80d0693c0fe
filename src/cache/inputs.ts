/**
 * Which files a task reads, with their content ids: git's object ids for clean tracked files,
 * the fingerprint cache for the rest, a folder walk when there is no repository.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { err, ok, type Result } from '../util/result.js';
import type { FingerprintCache } from './fingerprints.js';
import { type GitSnapshot, underPrefix } from './git.js';
import { isSafeRelative, toPosixRelative } from './safe-path.js';
import { globSet, SKIP_DIRS, walk } from './walk.js';

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
  readonly #real = new Map<string, string>();

  constructor(
    private readonly snapshot: GitSnapshot | undefined,
    private readonly fingerprints: FingerprintCache,
  ) {}

  /** Resolves and hashes a task's inputs; fails on a glob that leaves the repository. */
  resolve(spec: InputSpec): Result<InputList, string> {
    const cwd = this.#realpath(spec.cwd);
    const globs = globSet(spec.inputs ?? ['**']);
    const outputs = spec.outputs.length ? globSet(spec.outputs) : undefined;
    const candidates = new Set<string>();
    const snap = this.snapshot;
    for (const base of globs.bases) {
      const absBase = path.resolve(cwd, base);
      const inRepo = snap ? toPosixRelative(snap.top, absBase) : '..';
      if (snap && inScope(snap.scope, inRepo)) {
        const cwdInRepo = toPosixRelative(snap.top, cwd);
        for (const p of underPrefix(snap.paths, inRepo)) candidates.add(relativeTo(cwdInRepo, p));
        // A literal path git ignores (a generated .env, say) still counts when named explicitly.
        if (base !== '') candidates.add(base);
      } else if (snap && !(inRepo === '' || isSafeRelative(inRepo))) {
        return err(`input glob base "${base}" is outside the repository ${snap.top}`);
      } else {
        const rel = toPosixRelative(cwd, absBase);
        for (const e of walk(cwd, rel === '' ? '' : rel, SKIP_DIRS)) {
          if (e.kind !== 'dir') candidates.add(e.path);
        }
        if (rel !== '') candidates.add(rel);
      }
    }
    const out: InputList = [];
    for (const rel of candidates) {
      if (!globs.match(rel) || outputs?.match(rel) || rel.startsWith('.slipway/')) continue;
      const id = this.#id(cwd, rel);
      if (id !== undefined) out.push([rel, id]);
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return ok(out);
  }

  #id(cwd: string, rel: string): string | undefined {
    const abs = path.join(cwd, rel);
    const snap = this.snapshot;
    if (snap) {
      const oid = snap.oids.get(toPosixRelative(snap.top, abs));
      if (oid) return oid;
    }
    return this.fingerprints.hash(abs);
  }

  #realpath(p: string): string {
    let r = this.#real.get(p);
    if (r === undefined) {
      try {
        r = realpathSync(p);
      } catch {
        r = p;
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
