/**
 * A worker builds each job at the job's commit, in a git worktree of its own clone kept per
 * commit under .slipway/worktrees/<sha> (made once, reused by later jobs of the same commit). A
 * commit the clone lacks is fetched once from its remotes; still missing, it is a typed failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type Worktree =
  | { ok: true; dir: string }
  | { ok: false; missing: true }
  | { ok: false; error: string };

async function git(cwd: string, args: string[]): Promise<boolean> {
  try {
    await run('git', args, { cwd });
    return true;
  } catch {
    return false;
  }
}

export class Worktrees {
  readonly #pending = new Map<string, Promise<Worktree>>();

  constructor(
    /** The top folder of the worker's clone. */
    readonly repo: string,
  ) {}

  /** The folder holding `commit`, made on first use; one `git worktree add` per commit at a time. */
  ensure(commit: string): Promise<Worktree> {
    let p = this.#pending.get(commit);
    if (!p) {
      p = this.#make(commit);
      this.#pending.set(commit, p);
      // A failure is not remembered: the commit may be pushed meanwhile.
      void p.then((w) => {
        if (!w.ok) this.#pending.delete(commit);
      });
    }
    return p;
  }

  async #make(commit: string): Promise<Worktree> {
    const dir = path.join(this.repo, '.slipway', 'worktrees', commit);
    if (existsSync(path.join(dir, '.git'))) return { ok: true, dir };
    const has = () => git(this.repo, ['cat-file', '-e', `${commit}^{commit}`]);
    if (!(await has())) {
      await git(this.repo, ['fetch', '--quiet', '--all']);
      if (!(await has())) return { ok: false, missing: true };
    }
    mkdirSync(path.dirname(dir), { recursive: true });
    try {
      await run('git', ['worktree', 'add', '--detach', '--force', dir, commit], { cwd: this.repo });
      return { ok: true, dir };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) };
    }
  }
}
