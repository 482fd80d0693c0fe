/** Git facts about the project, read best-effort (no git, no repository: undefined). */
import { execFileSync } from 'node:child_process';

export function gitHead(cwd: string): { sha: string; commitAt: number } | undefined {
  try {
    const out = execFileSync('git', ['log', '-1', '--format=%H %ct'], {
      cwd,
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
    }).trim();
    const [sha, ct] = out.split(' ');
    return sha && ct ? { sha, commitAt: Number(ct) * 1000 } : undefined;
  } catch {
    return undefined;
  }
}
