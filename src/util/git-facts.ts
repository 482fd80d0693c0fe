/** Git facts about the project, read best-effort (no git, no repository: undefined). */
import { execFile, execFileSync } from 'node:child_process';
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
