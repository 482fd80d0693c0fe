/** Path checks shared by archives, restores and globs: nothing may land outside its root. */
import path from 'node:path';

/** True when `p` is a relative posix path with no empty, `.` or `..` segments. */
export function isSafeRelative(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  if (/^[A-Za-z]:/.test(p)) return false;
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') return false;
  }
  return true;
}

/**
 * True when a symlink stored at `linkPath` (relative to the root) with `target` resolves inside
 * the root. Absolute targets are refused even when they point inside: they break on other clones.
 */
export function symlinkStaysInside(linkPath: string, target: string): boolean {
  if (target === '' || path.posix.isAbsolute(target) || path.win32.isAbsolute(target)) return false;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(linkPath), target));
  return resolved !== '..' && !resolved.startsWith('../') && !path.posix.isAbsolute(resolved);
}

/** `child` relative to `parent` with forward slashes; starts with `..` when outside. */
export function toPosixRelative(parent: string, child: string): string {
  const rel = path.relative(parent, child);
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

/** Turns a task id into a file name that is safe on every platform and reversible. */
export function taskFileName(taskId: string): string {
  return encodeURIComponent(taskId).replace(/\*/g, '%2A').replace(/^\./, '%2E');
}
