/**
 * A run's task logs for the run page: the files `slipway run` wrote under .slipway/logs/<runId>/
 * (src/state/paths.ts runLogDir). Only regular files directly in that folder are listed or read:
 * the run id must be a stored run's, the file name must be one the folder lists, symbolic links
 * are refused, and a file is read from its end up to a cap. The page shows the text as text.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { runLogDir } from '../state/paths.js';

/** Bytes of a log the page shows: its tail. */
export const LOG_CAP_BYTES = 256 * 1024;
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const SAFE_FILE = /^[A-Za-z0-9_.@-]{1,255}\.log$/;

export interface LogFile {
  /** The file name (the task id with unsafe characters replaced). */
  name: string;
  bytes: number;
}

export interface LogText extends LogFile {
  /** The last LOG_CAP_BYTES at most. */
  text: string;
  truncated: boolean;
}

async function folder(root: string, runId: string): Promise<string | undefined> {
  if (!SAFE_ID.test(runId)) return undefined;
  const dir = runLogDir(root, runId);
  try {
    const st = await lstat(dir);
    if (!st.isDirectory()) return undefined;
    // The logs folder itself may be reached through a link (a moved checkout); its files may not.
    return await realpath(dir);
  } catch {
    return undefined;
  }
}

/** The run's log files (regular files only), by name; empty when it has none. */
export async function listRunLogs(root: string, runId: string): Promise<LogFile[]> {
  const dir = await folder(root, runId);
  if (!dir) return [];
  const out: LogFile[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile() || !SAFE_FILE.test(e.name)) continue;
    const st = await lstat(path.join(dir, e.name)).catch(() => undefined);
    if (st?.isFile()) out.push({ name: e.name, bytes: st.size });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** One log's tail, or undefined when the run has no such regular file. */
export async function readRunLog(root: string, runId: string, name: string): Promise<LogText | undefined> {
  if (!SAFE_FILE.test(name)) return undefined;
  const dir = await folder(root, runId);
  if (!dir) return undefined;
  const file = path.join(dir, name);
  if (path.dirname(file) !== dir) return undefined;
  // O_NOFOLLOW: a link swapped in after the check is refused by the kernel, not followed.
  const fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const linked = await lstat(file);
    const st = await fh.stat();
    if (!linked.isFile() || !st.isFile() || linked.ino !== st.ino) return undefined;
    const length = Math.min(st.size, LOG_CAP_BYTES);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, st.size - length);
    let text = buf.toString('utf8');
    // A cut in the middle of a character or line: start at the next line.
    if (st.size > length) text = text.slice(text.indexOf('\n') + 1);
    return { name, bytes: st.size, text, truncated: st.size > length };
  } finally {
    await fh.close();
  }
}
