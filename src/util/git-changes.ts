/**
 * Files changed in a git range, for `--filter=[REF]`, `--filter=[A...B]` and `--affected`:
 * `[REF]` is everything that differs between the merge-base of REF and HEAD and the working tree
 * (commits since, staged and unstaged edits, new untracked files), as turbo and Nx compare;
 * `[A...B]` is what B changed since its merge-base with A (commits only). A ref git does not
 * know is a UsageError naming it, with the fetch a shallow CI checkout needs.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { UsageError } from './usage-error.js';

export interface ChangedFiles {
  /** Absolute paths. */
  files: string[];
  /** What was compared, for the note a command prints ("since main (merge-base 1a2b3c4)"). */
  described: string;
}

/** Reads what a range changed; `cwd` is any folder inside the repository. */
export type ChangeReader = (range: string) => ChangedFiles;

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
  } catch {
    return undefined;
  }
}

const z = (out: string) => out.split('\0').filter(Boolean);

/** A ChangeReader over the repository that holds `cwd`. */
export function gitChanges(cwd: string): ChangeReader {
  return (range) => {
    const top = git(cwd, ['rev-parse', '--show-toplevel'])?.trim();
    if (!top) {
      throw new UsageError(
        `"[${range}]" needs a git repository, and ${cwd} is not in one`,
        'run from a git checkout, or select packages by name instead',
      );
    }
    const abs = (files: string[]) => files.map((f) => path.join(top, f));
    const commit = (ref: string) => {
      const sha = git(top, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])?.trim();
      if (!sha) {
        throw new UsageError(
          `git does not know "${ref}" (in "[${range}]")`,
          'name a branch, tag or commit; in CI fetch it first (git fetch origin main, or actions/checkout with fetch-depth: 0)',
        );
      }
      return sha;
    };
    const twoSided = /^(.+?)\.\.\.(.+)$/.exec(range);
    if (twoSided) {
      const [a, b] = [twoSided[1]!, twoSided[2]!];
      commit(a);
      commit(b);
      const out = git(top, ['diff', '--name-only', '-z', '--no-renames', `${a}...${b}`]);
      if (out === undefined) throw noMergeBase(a, b);
      return { files: abs(z(out)), described: `between ${a} and ${b}` };
    }
    commit(range);
    const base = git(top, ['merge-base', range, 'HEAD'])?.trim();
    if (!base) throw noMergeBase(range, 'HEAD');
    const tracked = git(top, ['diff', '--name-only', '-z', '--no-renames', base]) ?? '';
    const untracked = git(top, ['ls-files', '--others', '--exclude-standard', '--full-name', '-z']) ?? '';
    return {
      files: abs([...new Set([...z(tracked), ...z(untracked)])]),
      described: `since ${range} (merge-base ${base.slice(0, 7)})`,
    };
  };
}

function noMergeBase(a: string, b: string): UsageError {
  return new UsageError(
    `git finds no common ancestor of ${a} and ${b}`,
    'a shallow checkout lacks the history: fetch more of it (actions/checkout with fetch-depth: 0)',
  );
}

/**
 * The base `--affected` compares with when none is given: on a GitHub pull request the branch it
 * targets (origin/$GITHUB_BASE_REF), else `main`, or `origin/main` when there is no local main.
 */
export function defaultAffectedBase(cwd: string, env: NodeJS.ProcessEnv): string {
  if (env.GITHUB_BASE_REF) return `origin/${env.GITHUB_BASE_REF}`;
  const known = (ref: string) =>
    git(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]) !== undefined;
  return !known('main') && known('origin/main') ? 'origin/main' : 'main';
}
