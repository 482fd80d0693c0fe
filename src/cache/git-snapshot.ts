/**
 * One look at git per run: the index gives object ids of tracked files, `git status` says which
 * of them are dirty and which untracked files exist. Clean files are then never read.
 */

import { compareCodeUnits } from '../util/compare.js';
import { type GitFacts, readGitFacts } from '../util/git-facts.js';
import { trace } from '../util/trace.js';
import type { HashAlgo } from './fingerprints.js';

export interface GitSnapshot {
  /** Absolute top-level folder of the repository. */
  top: string;
  algo: HashAlgo;
  /** The folder the snapshot covers, relative to `top` ('' = the whole repository). */
  scope: string;
  /** Existing files (tracked, or untracked and not ignored) relative to `top`, sorted. */
  paths: string[];
  /** Object ids of tracked files whose working copy matches the index. */
  oids: Map<string, string>;
}

/**
 * Reads the repository containing `dir`, limited to files under `dir`; undefined when not a repo.
 * `facts` is a read already started for `dir` (the CLI starts it before loading anything else).
 */
export async function gitSnapshot(
  dir: string,
  facts: Promise<GitFacts> = readGitFacts(dir),
): Promise<GitSnapshot | undefined> {
  // Outside a repository every command simply fails.
  const { where, index, status } = await facts;
  trace('git facts read');
  const [top, scope] = (where ?? '').split('\n');
  if (!top || index === undefined || status === undefined) return undefined;

  const oids = new Map<string, string>();
  const present = new Set<string>();
  let algo: HashAlgo = 'sha1';
  let start = 0;
  while (start < index.length) {
    let end = index.indexOf('\0', start);
    if (end < 0) end = index.length;
    // "<mode> <oid> <stage>\t<path>"
    const s1 = index.indexOf(' ', start);
    const s2 = index.indexOf(' ', s1 + 1);
    const tab = index.indexOf('\t', s2 + 1);
    if (s1 > 0 && s2 > s1 && tab > s2 && tab < end) {
      const mode = index.slice(start, s1);
      const oid = index.slice(s1 + 1, s2);
      const stage = index.slice(s2 + 1, tab);
      const p = index.slice(tab + 1, end);
      if (oid.length === 64) algo = 'sha256';
      present.add(p);
      // Unmerged entries (stage > 0) have no single id: hash the working copy instead. A
      // submodule's commit id stands for its content.
      if ((stage === '0' && mode !== '160000') || mode === '160000') oids.set(p, oid);
    }
    start = end + 1;
  }
  for (const rec of status.split('\0')) {
    if (rec.length < 4) continue;
    const x = rec[0];
    const y = rec[1];
    const p = rec.slice(3);
    if (x === '?' && y === '?') {
      present.add(p);
    } else if (y === 'D') {
      present.delete(p);
      oids.delete(p);
    } else if (y !== ' ' || x === 'U') {
      oids.delete(p); // modified in the working tree (or conflicted): hash its content
    }
  }
  // The index is already in order; only untracked files (or unusual names) need a sort.
  const paths = [...present];
  for (let i = 1; i < paths.length; i++) {
    if (compareCodeUnits(paths[i - 1]!, paths[i]!) > 0) {
      paths.sort(compareCodeUnits);
      break;
    }
  }
  trace('git facts parsed');
  return { top, algo, scope: (scope ?? '').replace(/\/$/, ''), paths, oids };
}

/** The slice of sorted `paths` that lie under `prefix` ('' = all). */
export function underPrefix(paths: readonly string[], prefix: string): readonly string[] {
  if (prefix === '') return paths;
  const lo = lowerBound(paths, `${prefix}/`);
  const hi = lowerBound(paths, `${prefix}0`); // '0' is the character after '/'
  return paths.slice(lo, hi);
}

function lowerBound(paths: readonly string[], key: string): number {
  let lo = 0;
  let hi = paths.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((paths[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
