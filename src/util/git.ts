/** Git facts about the project, read best-effort (no git, no repository: undefined). */
import { execFileSync, spawn } from 'node:child_process';

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

/**
 * Starts reading the facts of the repository containing `cwd`: the four git commands run side
 * by side under one shell, so a run pays for one process start instead of four (each costs a
 * fork of this process) and the work overlaps whatever the caller does meanwhile.
 */
export function readGitFacts(cwd: string): Promise<GitFacts> {
  return gitBatch(cwd, [
    ['rev-parse', '--show-toplevel', '--show-prefix'],
    ['ls-files', '-s', '-z', '--full-name', '--', '.'],
    ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', '.'],
    ['log', '-1', '--format=%H %ct'],
  ]).then(([where, index, status, head]) => ({ where, index, status, head: parseHead(head) }));
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs git commands in parallel in one `sh`; each command's stdout comes back on its own pipe,
 * undefined when it failed. Falls back to separate processes where there is no shell.
 */
export function gitBatch(cwd: string, commands: readonly string[][]): Promise<(string | undefined)[]> {
  const n = commands.length;
  // Command i writes to fd 3+i; its exit status goes to stdout as "i status".
  const script = `${commands
    .map((args, i) => `(git ${args.map(quote).join(' ')} >&${3 + i} 2>/dev/null; echo "${i} $?") &`)
    .join('\n')}\nwait\n`;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('sh', ['-c', script], {
        cwd,
        stdio: ['ignore', 'pipe', 'ignore', ...commands.map(() => 'pipe' as const)],
      });
    } catch {
      resolve(commands.map(() => undefined));
      return;
    }
    const chunks: Buffer[][] = commands.map(() => []);
    commands.forEach((_, i) => {
      (child.stdio[3 + i] as NodeJS.ReadableStream).on('data', (b: Buffer) => chunks[i]!.push(b));
    });
    let statusText = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (t: string) => {
      statusText += t;
    });
    child.on('error', () => resolve(commands.map(() => undefined)));
    child.on('close', () => {
      const ok = new Set<number>();
      for (const line of statusText.split('\n')) {
        const [i, code] = line.split(' ');
        if (code === '0') ok.add(Number(i));
      }
      resolve(
        Array.from({ length: n }, (_, i) =>
          ok.has(i) ? Buffer.concat(chunks[i]!).toString('utf8') : undefined,
        ),
      );
    });
  });
}
