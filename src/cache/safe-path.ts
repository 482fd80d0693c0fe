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

/** `child` relative to `parent` with forward slashes; starts with `..` when outside. */
export function toPosixRelative(parent: string, child: string): string {
  const rel = path.relative(parent, child);
  return path.sep === '/' ? rel : rel.split(path.sep).join('/');
}

/** Turns a task id into a file name that is safe on every platform and reversible. */
export function taskFileName(taskId: string): string {
  return encodeURIComponent(taskId).replace(/\*/g, '%2A').replace(/^\./, '%2E');
}
