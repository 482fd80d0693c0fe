/**
 * Where a symlink really leads, worked out the way the kernel walks a path: one component at a
 * time, replacing each component that is itself a symlink by its target before the next `..` is
 * applied. Normalising the target as text is not enough: with `out/dot -> .`, the target
 * `dot/../..` of `out/esc` reads as `.` but the kernel follows `dot` first and ends in the
 * root's parent. One owner for this rule: the cache (archives) and the deploy agent (manifests)
 * both ask it, about the links the same archive or manifest creates and, for a restore, the links
 * already on disk.
 */
import path from 'node:path';
import { err, ok, type Result } from './result.js';

/** Why a link target is refused. */
export type LinkProblem =
  /** The target, or the target of a link it passes through, is absolute (or empty, or has NUL). */
  | 'absolute'
  /** Followed the kernel's way, it reaches a place outside the root. */
  | 'outside'
  /** More links followed than the kernel would (a loop, or a chain built to exhaust us). */
  | 'loop';

/** The target of the symlink at a root-relative path, or undefined when that path is no symlink. */
export type LinkLookup = (relPath: string) => string | undefined;

/** Linux's limit on symlinks followed while resolving one path (MAXSYMLINKS). */
export const MAX_LINK_HOPS = 40;

/**
 * Resolves the link at `linkPath` (relative to the root, forward slashes) with `target`, following
 * every link `lookup` knows; returns the root-relative place it reaches ('' is the root itself).
 * Absolute targets are refused even when they point inside: they break on another clone or host.
 */
export function resolveLink(
  linkPath: string,
  target: string,
  lookup: LinkLookup,
  maxHops = MAX_LINK_HOPS,
): Result<string, LinkProblem> {
  if (!plainTarget(target)) return err('absolute');
  const here = path.posix.dirname(linkPath);
  const at = here === '.' ? [] : here.split('/');
  // Components still to walk, the next one last.
  const todo = target.split('/').reverse();
  let hops = 0;
  for (let c = todo.pop(); c !== undefined; c = todo.pop()) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      // `..` of the root is its parent: outside, whatever comes after.
      if (at.length === 0) return err('outside');
      at.pop();
      continue;
    }
    at.push(c);
    const next = lookup(at.join('/'));
    if (next === undefined) continue;
    if (++hops > maxHops) return err('loop');
    if (!plainTarget(next)) return err('absolute');
    // The link's target is walked from the folder holding the link.
    at.pop();
    for (const part of next.split('/').reverse()) todo.push(part);
  }
  return ok(at.join('/'));
}

/** The first link (in path order) whose target, followed the kernel's way, leaves the root. */
export function firstEscapingLink(
  links: ReadonlyMap<string, string>,
  lookup: LinkLookup = (p) => links.get(p),
): { path: string; target: string; problem: LinkProblem } | undefined {
  for (const p of [...links.keys()].sort()) {
    const target = links.get(p) as string;
    const r = resolveLink(p, target, lookup);
    if (!r.ok) return { path: p, target, problem: r.error };
  }
  return undefined;
}

/** Words for a refused link, for messages ending in "points outside the <what>". */
export function linkProblemText(problem: LinkProblem, where: string): string {
  switch (problem) {
    case 'absolute':
      return `is absolute, so it points outside the ${where}`;
    case 'outside':
      return `points outside the ${where} once its links are followed`;
    case 'loop':
      return `follows more than ${MAX_LINK_HOPS} links (a loop?), so it cannot be shown to stay inside the ${where}`;
  }
}

function plainTarget(t: string): boolean {
  return t !== '' && !t.includes('\0') && !path.posix.isAbsolute(t) && !path.win32.isAbsolute(t);
}
