/**
 * Our archive format for task outputs: a flat list of (JSON header, bytes) records. Simple to
 * check: every path is relative without `..`, every symlink stays inside the task's folder, and
 * extraction never writes through a symlink. Turborepo's remote cache stores opaque bytes, so a
 * format of our own travels through any compatible server.
 *
 *   "SLPWAR01" { u32be headerLength, header JSON, file bytes }* u32be 0
 */
import {
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { failpoint } from '../util/failpoint.js';
import { err, ok, type Result } from '../util/result.js';
import { firstEscapingLink, type LinkLookup, linkProblemText } from '../util/symlink-target.js';
import { isSafeRelative } from './safe-path.js';
import type { EntryKind, WalkEntry } from './walk.js';

const MAGIC = Buffer.from('SLPWAR01');

interface Header {
  p: string;
  t: 'f' | 'd' | 'l';
  m: number;
  s?: number;
  l?: string;
}

export interface ArchiveItem {
  path: string;
  kind: EntryKind;
  /** Permission bits (within 0o777: setuid, setgid and sticky are never restored). */
  mode: number;
  /** File contents (a view into the archive). */
  data?: Buffer;
  /** Symlink target. */
  target?: string;
}

const KIND: Record<Header['t'], EntryKind> = { f: 'file', d: 'dir', l: 'symlink' };

/** Packs `entries` (relative to `root`); refuses unsafe paths and symlinks that leave `root`. */
export function createArchive(root: string, entries: readonly WalkEntry[]): Result<Buffer, string> {
  const parts: Buffer[] = [MAGIC];
  const links = new Map<string, string>();
  for (const e of entries) {
    if (!isSafeRelative(e.path)) return err(`refusing to archive unsafe path "${e.path}"`);
    const abs = path.join(root, e.path);
    let header: Header;
    let data: Buffer | undefined;
    try {
      const st = lstatSync(abs);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) {
        const target = readlinkSync(abs);
        links.set(e.path, target);
        header = { p: e.path, t: 'l', m: mode, l: target };
      } else if (st.isDirectory()) {
        header = { p: e.path, t: 'd', m: mode };
      } else if (st.isFile()) {
        failpoint('cache-archive');
        data = readFileSync(abs);
        header = { p: e.path, t: 'f', m: mode, s: data.length };
      } else {
        continue;
      }
    } catch (e2) {
      return err(`cannot read output "${e.path}": ${(e2 as Error).message}`);
    }
    const h = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(h.length);
    parts.push(len, h);
    if (data) parts.push(data);
  }
  // Checked once all links are known: one link's target may pass through another.
  const bad = firstEscapingLink(links);
  if (bad) {
    return err(
      `refusing to archive symlink "${bad.path}" -> "${bad.target}": it ${linkProblemText(bad.problem, "task's folder")}`,
    );
  }
  parts.push(Buffer.alloc(4));
  return ok(Buffer.concat(parts));
}

/** Parses and checks an archive without touching the disk. */
export function readArchive(buf: Buffer): Result<ArchiveItem[], string> {
  if (buf.length < MAGIC.length + 4 || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return err('not a slipway archive');
  }
  const items: ArchiveItem[] = [];
  const seen = new Map<string, EntryKind>();
  const links = new Map<string, string>();
  let off = MAGIC.length;
  for (;;) {
    if (off + 4 > buf.length) return err('archive is truncated');
    const hl = buf.readUInt32BE(off);
    off += 4;
    if (hl === 0) break;
    if (off + hl > buf.length) return err('archive is truncated');
    let h: Header;
    try {
      h = JSON.parse(buf.subarray(off, off + hl).toString('utf8')) as Header;
    } catch {
      return err('archive header is not valid JSON');
    }
    off += hl;
    const kind = KIND[h.t];
    if (!kind || typeof h.p !== 'string' || !Number.isInteger(h.m)) return err('archive header is malformed');
    if (!isSafeRelative(h.p)) return err(`archive contains unsafe path "${h.p}"`);
    if (seen.has(h.p)) return err(`archive contains "${h.p}" twice`);
    // A later entry must not be written through a symlink the archive itself created.
    for (let i = h.p.indexOf('/'); i !== -1; i = h.p.indexOf('/', i + 1)) {
      if (seen.get(h.p.slice(0, i)) === 'symlink') return err(`archive path "${h.p}" goes through a symlink`);
    }
    seen.set(h.p, kind);
    // Permission bits only: a cache entry never restores setuid, setgid or sticky bits.
    const item: ArchiveItem = { path: h.p, kind, mode: h.m & 0o777 };
    if (kind === 'file') {
      const size = h.s ?? -1;
      if (!Number.isInteger(size) || size < 0 || off + size > buf.length) return err('archive is truncated');
      item.data = buf.subarray(off, off + size);
      off += size;
    } else if (kind === 'symlink') {
      if (typeof h.l !== 'string') return err(`archive symlink "${h.p}" has no target`);
      item.target = h.l;
      links.set(h.p, h.l);
    }
    items.push(item);
  }
  if (off !== buf.length) return err('archive has trailing bytes');
  // Once every link is known: a target may pass through links listed after it.
  const bad = firstEscapingLink(links);
  if (bad) return err(linkRefusal(bad));
  return ok(items);
}

function linkRefusal(bad: NonNullable<ReturnType<typeof firstEscapingLink>>): string {
  return `archive symlink "${bad.path}" -> "${bad.target}" ${linkProblemText(bad.problem, "task's folder")}`;
}

/**
 * Checks the archive's links against what is on disk under `root`: a target may pass through a
 * symlink that is already there (not replaced by the archive), which the kernel would follow.
 */
export function checkLinksOnDisk(root: string, items: readonly ArchiveItem[]): Result<void, string> {
  const byPath = new Map(items.map((it) => [it.path, it]));
  const links = new Map<string, string>();
  for (const it of items) if (it.kind === 'symlink') links.set(it.path, it.target as string);
  if (links.size === 0) return ok(undefined);
  // Links share folders: one lstat per path on disk, however many links pass through it.
  const disk = new Map<string, string | undefined>();
  const lookup: LinkLookup = (rel) => {
    const it = byPath.get(rel);
    if (it) return it.kind === 'symlink' ? it.target : undefined;
    if (!disk.has(rel)) disk.set(rel, diskLinkTarget(path.join(root, rel)));
    return disk.get(rel);
  };
  const bad = firstEscapingLink(links, lookup);
  return bad ? err(linkRefusal(bad)) : ok(undefined);
}

function diskLinkTarget(abs: string): string | undefined {
  try {
    return lstatSync(abs).isSymbolicLink() ? readlinkSync(abs) : undefined;
  } catch {
    return undefined; // absent or unreadable: no link to follow here
  }
}

/** Writes checked items under `root`, refusing to follow any symlink already on disk. */
export function extractArchive(
  root: string,
  items: readonly ArchiveItem[],
): Result<{ bytes: number }, string> {
  const onDisk = checkLinksOnDisk(root, items);
  if (!onDisk.ok) return onDisk;
  const safeDirs = new Set<string>(['']);
  const dirModes: [string, number][] = [];
  const ensureDir = (rel: string): string | undefined => {
    if (safeDirs.has(rel)) return undefined;
    const parent = path.posix.dirname(rel);
    const problem = ensureDir(parent === '.' ? '' : parent);
    if (problem) return problem;
    const abs = path.join(root, rel);
    try {
      const st = lstatSync(abs);
      if (!st.isDirectory()) {
        if (st.isSymbolicLink()) return `refusing to restore through the symlink "${rel}"`;
        unlinkSync(abs);
        mkdirSync(abs);
      }
    } catch {
      mkdirSync(abs);
    }
    safeDirs.add(rel);
    return undefined;
  };
  let bytes = 0;
  try {
    for (const it of items) {
      const parent = path.posix.dirname(it.path);
      const problem = ensureDir(parent === '.' ? '' : parent);
      if (problem) return err(problem);
      const abs = path.join(root, it.path);
      if (it.kind === 'dir') {
        const p2 = ensureDir(it.path);
        if (p2) return err(p2);
        dirModes.push([abs, it.mode]);
      } else if (it.kind === 'symlink') {
        rmSync(abs, { force: true, recursive: true });
        symlinkSync(it.target as string, abs);
      } else {
        bytes += writeFileNoFollow(abs, it.data ?? Buffer.alloc(0), it.mode);
      }
    }
    // Folder modes last, deepest first: a read-only folder must not block writing its files.
    for (const [abs, mode] of dirModes.reverse()) fchmodPath(abs, mode);
  } catch (e) {
    return err(`cannot restore outputs: ${(e as Error).message}`);
  }
  return ok({ bytes });
}

// O_EXCL: a new file gets exactly the archive's mode (minus the umask) and nothing on disk, not
// even a symlink, is ever followed or reused. Synchronous on purpose: file creation is a
// journaled metadata operation, and measured here the thread pool only added latency.
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
// Read once: the umask decides whether open()'s mode needs a chmod after it.
const UMASK = process.umask();

function writeFileNoFollow(abs: string, data: Buffer, mode: number): number {
  let fd: number;
  try {
    fd = openSync(abs, WRITE_FLAGS, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // Something is already there (a stale file, a symlink, a folder): replace it.
    if (code !== 'EEXIST' && code !== 'ELOOP' && code !== 'EISDIR') throw e;
    rmSync(abs, { force: true, recursive: true });
    fd = openSync(abs, WRITE_FLAGS, mode);
  }
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    if ((mode & ~UMASK) !== mode) fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
  return data.length;
}

function fchmodPath(abs: string, mode: number): void {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
