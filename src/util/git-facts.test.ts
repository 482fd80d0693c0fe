import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitHeadLater, mayBeInRepository } from './git-facts.js';

const made: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'git-facts-'));
  made.push(d);
  return d;
}
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

// The temporary folder must itself be outside any repository for the "none" cases to mean anything.
const outside = !mayBeInRepository(os.tmpdir(), {});

describe('mayBeInRepository', () => {
  it.runIf(outside)('is false where no folder up to the root holds .git or HEAD', () => {
    const d = tempDir();
    mkdirSync(path.join(d, 'a', 'b'), { recursive: true });
    expect(mayBeInRepository(path.join(d, 'a', 'b'), {})).toBe(false);
  });

  it('is true in a repository and in any folder below it, with .git a folder or a file', () => {
    const d = tempDir();
    mkdirSync(path.join(d, '.git'));
    mkdirSync(path.join(d, 'x', 'y'), { recursive: true });
    expect(mayBeInRepository(path.join(d, 'x', 'y'), {})).toBe(true);
    const wt = tempDir();
    writeFileSync(path.join(wt, '.git'), `gitdir: ${d}/.git\n`);
    expect(mayBeInRepository(wt, {})).toBe(true);
  });

  it('is true in what may be a bare repository (a HEAD file), and wherever GIT_DIR names one', () => {
    const d = tempDir();
    writeFileSync(path.join(d, 'HEAD'), 'ref: refs/heads/main\n');
    expect(mayBeInRepository(d, {})).toBe(true);
    expect(mayBeInRepository(tempDir(), { GIT_DIR: '/somewhere/.git' })).toBe(true);
  });
});

describe('gitHeadLater', () => {
  it.runIf(outside)('is undefined outside any repository', async () => {
    expect(await gitHeadLater(tempDir())).toBeUndefined();
  });

  it("reads HEAD's commit and time in a repository", async () => {
    const d = tempDir();
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: d,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@t',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@t',
          GIT_COMMITTER_DATE: '2020-01-02T03:04:05Z',
        },
        encoding: 'utf8',
      });
    try {
      git('init', '-q');
    } catch {
      return; // no git here: nothing to compare with
    }
    git('commit', '-q', '--allow-empty', '-m', 'x');
    const sha = git('rev-parse', 'HEAD').trim();
    expect(await gitHeadLater(d)).toEqual({ sha, commitAt: Date.parse('2020-01-02T03:04:05Z') });
  });
});
