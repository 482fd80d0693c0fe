/** Git facts about the project, read best-effort (no git, no repository: undefined). */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type BatchCommand, type BatchResult, shellBatch } from './shell-batch.js';

export interface GitHead {
  sha: string;
  commitAt: number;
}

export function gitHead(cwd: string): GitHead | undefined {
  try {
    return parseHead(
      execFileSync('git', ['log', '-1', '--format=%H %ct'], {
        cwd,
        stdio: ['ignore', 'pipe', 'ignore'],
        encoding: 'utf8',
      }),
    );
  } catch {
    return undefined;
  }
}

/**
 * gitHead without blocking the thread: `slipway deploy` asks it before it opens the history store
 * and takes the environment, and awaits it only when the deployment starts (the synchronous call
 * held a cold deploy's thread 2-15 ms here, in or out of a repository). Never rejects.
 */
export function gitHeadLater(cwd: string): Promise<GitHead | undefined> {
  if (!mayBeInRepository(cwd)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    try {
      execFile('git', ['log', '-1', '--format=%H %ct'], { cwd, encoding: 'utf8' }, (e, out) =>
        resolve(e ? undefined : parseHead(out)),
      );
    } catch {
      resolve(undefined);
    }
  });
}

/**
 * Whether git could find a repository from `cwd`: false only when it surely cannot, so that a
 * deploy outside any repository (a CI job's unpacked artifact, the bench's folder) spawns no git
 * to learn nothing (the spawn held a cold deploy's thread 5-14 ms, the child took more on the
 * other core). Git looks in `cwd` and each folder above it for `.git` (a folder, or a file naming
 * one) or for a bare repository's own files (`HEAD` among them), unless GIT_DIR names it; its other
 * settings (GIT_CEILING_DIRECTORIES, GIT_DISCOVERY_ACROSS_FILESYSTEM) only make it look in fewer
 * folders. So: none of them holds `.git` or `HEAD`, and no GIT_DIR, means no repository.
 */
export function mayBeInRepository(cwd: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.GIT_DIR !== undefined) return true;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.git')) || existsSync(path.join(dir, 'HEAD'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}

function parseHead(out: string | undefined): GitHead | undefined {
  const [sha, ct] = (out ?? '').trim().split(' ');
  return sha && ct ? { sha, commitAt: Number(ct) * 1000 } : undefined;
}

/** What a run needs from git, read at once: where the repository is, its index, status and HEAD. */
export interface GitFacts {
  /** `rev-parse --show-toplevel --show-prefix` output. */
  where?: string;
  /** `ls-files -s -z` under the folder. */
  index?: string;
  /** `status --porcelain=v1 -z --untracked-files=all` under the folder. */
  status?: string;
  head?: GitHead;
}

/** The commands behind GitFacts, for `shellBatch` (state/checkout.ts adds its stat to the same batch). */
export const GIT_FACT_COMMANDS: BatchCommand[] = [
  { argv: ['git', 'rev-parse', '--show-toplevel', '--show-prefix'] },
  { argv: ['git', 'ls-files', '-s', '-z', '--full-name', '--', '.'] },
  { argv: ['git', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', '.'] },
  { argv: ['git', 'log', '-1', '--format=%H %ct'] },
];

/** GitFacts from the results of GIT_FACT_COMMANDS (a failed command leaves its fact out). */
export function gitFacts(results: readonly BatchResult[]): GitFacts {
  const [where, index, status, head] = results.map((r) => (r.code === 0 ? r.out : undefined));
  return { where, index, status, head: parseHead(head) };
}

/**
 * Starts reading the facts of the repository containing `cwd`: the four git commands run side by
 * side under one shell, overlapping whatever the caller does meanwhile.
 */
export function readGitFacts(cwd: string): Promise<GitFacts> {
  return shellBatch(cwd, GIT_FACT_COMMANDS).then(gitFacts);
}
