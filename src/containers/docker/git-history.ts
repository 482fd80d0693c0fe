/** The files each of the last N commits changed, as a CI build of that commit sees them (first parent). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface CommitChanges {
  sha: string;
  /** Paths relative to the repository root. */
  files: string[];
}

export interface History {
  root: string;
  commits: CommitChanges[];
}

/** Reads history from the repository holding `dir`; null when `dir` is not in a git work tree. */
export function readHistory(dir: string, limit: number): History | null {
  let root: string;
  try {
    root = git(dir, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    return null;
  }
  let out: string;
  try {
    out = git(root, [
      'log',
      `-n${limit}`,
      '--first-parent',
      '-m',
      '--no-renames',
      '--name-only',
      '--format=%x00%H',
    ]);
  } catch {
    return { root, commits: [] }; // a repository without commits yet
  }
  const commits: CommitChanges[] = [];
  for (const block of out.split('\0').slice(1)) {
    const [sha, ...files] = block.split('\n').map((l) => l.trim());
    if (sha) commits.push({ sha, files: files.filter(Boolean) });
  }
  return { root, commits };
}

/** `file` (repository-relative) as a path relative to `contextDir`, or null when outside it. */
export function relativeToContext(root: string, contextDir: string, file: string): string | null {
  const rel = path.relative(path.resolve(contextDir), path.join(root, file)).split(path.sep).join('/');
  return rel.startsWith('..') || path.isAbsolute(rel) ? null : rel;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 << 20,
  });
}
