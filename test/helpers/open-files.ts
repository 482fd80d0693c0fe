/**
 * The files under a folder that this process holds open, read from /proc/self/fd (Linux): a test
 * that closed what it started checks that no descriptor into its temporary folder is left, which
 * Node would otherwise close only when the handle is collected (a warning, and a leak until then).
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** Open files under `dir` (a deleted one ends in " (deleted)"); [] where /proc is absent. */
export function openFilesUnder(dir: string): string[] {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const roots = [...new Set([dir, realpathSync(dir)])].map((d) => d + path.sep);
  const open: string[] = [];
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the fd of readdirSync itself)
    }
    if (roots.some((r) => target.startsWith(r))) open.push(target);
  }
  return open;
}
