/**
 * Releases on disk: assembling `releases/<id>` in its staging folder (staging-area.ts: files
 * written from chunks received their fetched chunks there already) or a temporary one, renamed
 * into place (files unchanged since a kept release cloned or hard-linked from it, changed ones
 * written from their earlier version, the rest completed or written from chunks),
 * switching `current` atomically (a fresh symlink renamed over it), and pruning old ones.
 * Durable: every written file and every folder of a release is fsynced before the rename and the
 * parent folder after it, so a power cut never leaves a release whose name exists but whose
 * bytes do not.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, fchmodSync, fstatSync, mkdirSync, writevSync } from 'node:fs';
import {
  chmod,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
} from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath, writeAtomic } from '../../state/atomic-write.js';
import { trace } from '../../util/trace.js';
import { type Manifest, type ManifestEntry, manifestJson, validateManifest } from '../manifest.js';
import { type ChunkId, isReleaseId, type ReleaseId } from '../types.js';
import type { DirectSink } from './direct-file.js';
import { type BaseFile, writeFromBase } from './file-from-base.js';
import { staysInside } from './inside.js';
import type { Layout } from './layout.js';
import { linkUnchanged, reuse, type SameAs } from './link-pass.js';
import type { StagingArea } from './staging-area.js';

/** Size and mtime of each file of a release right after assembly: proof it was not edited since. */
export type FileStats = Record<string, [number, number]>;

/** A kept release's file with the same content, untouched since its assembly. */
export interface SameFile {
  path: string;
  /** Its permission bits: a hard link shares them, so it is linked only when they match. */
  mode: number;
  size: number;
  mtimeMs: number;
}

/**
 * How a release is made durable before its name appears: `fsync` syncs each written file (many at
 * once) and every folder; `syncfs` writes without syncing and flushes the whole filesystem once
 * (`sync -f`, which covers the folders too); `auto` (the default) syncs each file and folder when
 * it wrote only a few files and flushes the filesystem when it wrote many (bench/release-fsync.ts: one flush costs
 * 0.3-0.6x of per-file fsyncs here, and a flush that fails falls back to them); `none` is for
 * the benchmark's comparison only.
 */
export type Durability = 'auto' | 'fsync' | 'syncfs' | 'none';

/**
 * Up to this many written files, `auto` fsyncs them (and the folders) one by one rather than
 * flushing the whole filesystem, whose cost depends on what every other process has written.
 */
const FEW_FILES = 64;

/** How many files are linked or written at once. */
const WIDTH = 16;

/**
 * Writes every entry of a manifest under `releases/<id>`. A file identical to one of a kept,
 * untouched release (`sameAs`) is cloned (reflink, where the filesystem has copy-on-write) or
 * else hard-linked when its mode matches, else copied; other files are written from `chunk`,
 * several at once. Nothing is ever written into an existing file: written files are created
 * with O_EXCL in a fresh folder, and a linked file is neither opened for writing nor chmodded.
 * Returns how many files were linked or cloned.
 */
export async function assembleRelease(opts: {
  layout: Layout;
  id: ReleaseId;
  manifest: Manifest;
  chunk: (id: ChunkId) => Promise<Buffer>;
  /** Answered at once where it can be: those files are linked in one synchronous pass (link-pass.ts). */
  sameAs?: SameAs;
  /** A kept release's earlier version of a changed file, to write it from (file-from-base.ts). */
  baseOf?: (e: Extract<ManifestEntry, { type: 'file' }>) => Promise<BaseFile | undefined>;
  /**
   * Files of `area` already being written from their earlier version while the chunks were
   * fetched (writeFromBaseFile), by path: taken as they come out; undefined means the base shared
   * no chunk (then the file is written from chunks here).
   */
  early?: Map<string, Promise<[number, number] | undefined>>;
  /**
   * The staging folder to assemble in, whose direct files received their chunks as they arrived
   * (staging-area.ts); kept when assembly fails, for the next attempt. A fresh temporary folder
   * when absent.
   */
  area?: StagingArea;
  /** Default `auto`. */
  durability?: Durability;
}): Promise<number> {
  const { layout, id, manifest, area } = opts;
  const durability = opts.durability ?? 'auto';
  await mkdir(layout.releases, { recursive: true });
  await mkdir(layout.manifests, { recursive: true });
  const tmp = area?.dir ?? path.join(layout.releases, `.tmp-${id}-${randomBytes(4).toString('hex')}`);
  // In a folder an earlier attempt used, what is not this staging's own bytes is replaced.
  const stale = area !== undefined && !area.fresh;
  area?.assembling();
  if (!area) await mkdir(tmp);
  const stats: FileStats = {};
  /** Manifest paths of the files written (joined to the folder only if each is fsynced). */
  const written: string[] = [];
  /** Written files not fsynced as they were written (all of them, but with `fsync`). */
  const unsynced: string[] = [];
  let linked = 0;
  try {
    const files: Extract<ManifestEntry, { type: 'file' }>[] = [];
    /** Files that may be a kept one's twin, for the link pass (those it leaves come back to `files`). */
    const unchanged: Extract<ManifestEntry, { type: 'file' }>[] = [];
    for (const e of manifest.entries) {
      // Paths were validated (no "..", not absolute, parents are real folders); checked again
      // anyway so a bug in validation cannot write outside the release.
      if (!staysInside(e.path)) throw new Error(`refused path ${e.path}`);
      if (e.type === 'dir') {
        const dest = `${tmp}${path.sep}${e.path}`;
        // A staging folder has its folders already (staging-area.ts): a no-op then, not worth a
        // thread-pool round trip each.
        if (area) mkdirSync(dest, { mode: 0o755, recursive: true });
        else await mkdir(dest, { mode: 0o755 });
        // An earlier assembly may have given it its final, read-only mode already.
        if (stale) await chmod(dest, 0o755);
      } else if (e.type === 'symlink') {
        const dest = `${tmp}${path.sep}${e.path}`;
        if (stale) await rm(dest, { recursive: true, force: true });
        await symlink(e.target, dest);
      } else if (area?.isDirect(e)) {
        // Complete since the fetch (a first deploy: every file), its size and mtime noted then.
        const done = area.finished(e);
        if (!done) files.push(e);
        else {
          stats[e.path] = done;
          written.push(e.path);
          unsynced.push(e.path);
        }
      } else if (stale || !opts.sameAs || opts.early?.has(e.path)) files.push(e);
      else unchanged.push(e);
    }
    let next = 0;
    let failed = false;
    const worker = async (files: Extract<ManifestEntry, { type: 'file' }>[]) => {
      while (!failed && next < files.length) {
        const e = files[next++]!;
        // As path.join would for a validated manifest path (no empty, "." or ".." segment), without
        // normalizing twenty thousand strings.
        const dest = `${tmp}${path.sep}${e.path}`;
        if (area?.isDirect(e)) {
          stats[e.path] = await area.finish(e, opts.chunk);
          written.push(e.path);
          unsynced.push(e.path);
          continue;
        }
        const early = opts.early?.get(e.path);
        const fromEarly = early && (await early);
        if (fromEarly) {
          stats[e.path] = fromEarly;
          // Written without `durability` in mind (a large one flushed as a head start only).
          written.push(e.path);
          unsynced.push(e.path);
          continue;
        }
        if (stale || early) await rm(dest, { recursive: true, force: true });
        const same = early ? undefined : await opts.sameAs?.(e);
        if (same && (await reuse(same, e.mode & 0o777, dest, layout.releases))) {
          linked++;
          stats[e.path] = [same.size, same.mtimeMs];
          continue;
        }
        const base = early ? undefined : await opts.baseOf?.(e);
        stats[e.path] =
          (base &&
            (await writeFromBaseFile({ e, dest, base, chunk: opts.chunk, sync: durability === 'fsync' }))) ||
          (await writeFromChunks(e, dest, opts.chunk, durability === 'fsync'));
        written.push(e.path);
      }
    };
    // On a failure the others stop taking files, and every one has stopped writing before the
    // staging is closed and left to the next attempt.
    // The unchanged files first, alone: beside the writers' creates in the same folders, each
    // link waited on their locks (measured: more time in link(2), and no gain in wall time).
    const pass = await linkUnchanged({
      files: unchanged,
      tmp,
      releases: layout.releases,
      sameAs: opts.sameAs ?? (() => undefined),
      stats,
    });
    linked += pass.linked;
    const todo = files.concat(pass.rest);
    const workers = await Promise.allSettled(
      Array.from({ length: Math.min(WIDTH, todo.length) }, () =>
        worker(todo).catch((e: unknown) => {
          failed = true;
          throw e;
        }),
      ),
    );
    for (const w of workers) if (w.status === 'rejected') throw w.reason;
    trace(`assemble ${id}: ${linked} linked, ${written.length} written`);
    const durable = durability !== 'none';
    const flush =
      durable && (durability === 'syncfs' || (durability === 'auto' && written.length > FEW_FILES));
    // The stats and the manifest, on the filesystem that is flushed, are written before the flush,
    // which makes them durable with the rest: no syncs of their own (four, one of a 3 MB manifest).
    const covered = flush && (await sameFilesystem(tmp, layout.manifests));
    await writeAtomic(statsFile(layout, id), JSON.stringify(stats), { durable: durable && !covered });
    // The manifest lands before the release's name: a release folder without one is an
    // interrupted assembly.
    const landManifest = async (sync: boolean) => {
      if (!(area && (await linkManifest(layout.stagingManifest(id), layout.manifest(id), sync))))
        await writeAtomic(layout.manifest(id), manifestJson(manifest), { durable: sync });
    };
    const dirs = manifest.entries.filter((e) => e.type === 'dir').map((e) => path.join(tmp, e.path));
    // On this thread: one quick call each, where a round trip each cost more (240 folders: 20 ms).
    for (const e of manifest.entries) {
      if (e.type === 'dir') chmodSync(path.join(tmp, e.path), e.mode & 0o777);
    }
    // Every written file, every folder, then the release folder itself: every name inside is on
    // disk before the release's own name appears, and long before `current` points at it. Linked
    // files need only their names synced: their bytes were made durable when first written.
    if (covered) await landManifest(false);
    if (durable) {
      const flushed = flush && (await syncFilesystem(tmp));
      if (!flushed) {
        await fsyncEach((durability === 'fsync' ? unsynced : written).map((p) => `${tmp}${path.sep}${p}`));
        await fsyncEach(dirs);
        await fsyncPath(tmp);
        // Written before a flush that failed: synced now.
        if (covered) await fsyncEach([statsFile(layout, id), layout.manifest(id), layout.manifests]);
      }
    }
    trace(`assemble ${id}: durable`);
    if (!covered) await landManifest(durable);
    await rm(layout.release(id), { recursive: true, force: true });
    await rename(tmp, layout.release(id));
    if (durable) await fsyncPath(layout.releases);
    assembled = { file: statsFile(layout, id), stats };
    await area?.settled();
    return linked;
  } catch (e) {
    if (area) await area.close();
    else await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Creates `dest` (O_EXCL) from its chunks, checking every length; returns its size and mtime. */
async function writeFromChunks(
  e: Extract<ManifestEntry, { type: 'file' }>,
  dest: string,
  chunk: (id: ChunkId) => Promise<Buffer>,
  sync: boolean,
): Promise<[number, number]> {
  if (e.size <= SMALL_FILE) return writeSmall(e, dest, chunk, sync);
  const fh = await open(dest, 'wx', e.mode & 0o777);
  try {
    let written = 0;
    for (const [chunkId, size] of e.chunks) {
      const data = await chunk(chunkId);
      // The chunk's hash was checked when it was read; its length is the manifest's claim,
      // and a file must come out exactly as long as the manifest says.
      if (data.length !== size)
        throw new Error(
          `chunk ${chunkId.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
        );
      await fh.write(data, 0, data.length);
      written += data.length;
    }
    if (written !== e.size)
      throw new Error(`${e.path} came out ${written} bytes, the manifest says ${e.size}`);
    // open()'s mode is masked by the umask: set the manifest's exactly.
    await fh.chmod(e.mode & 0o777);
    if (sync) await fh.sync();
    const st = await fh.stat();
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}

/** Files up to this size are written on the calling thread (see writeSmall). */
const SMALL_FILE = 256 * 1024;

/**
 * writeFromChunks for a small file: its chunks gathered first, then written, chmodded and
 * stated synchronously, one call each instead of a thread-pool round trip each (20,000 small
 * files cost seconds of round trips otherwise).
 */
async function writeSmall(
  e: Extract<ManifestEntry, { type: 'file' }>,
  dest: string,
  chunk: (id: ChunkId) => Promise<Buffer>,
  sync: boolean,
): Promise<[number, number]> {
  const parts: Buffer[] = [];
  let total = 0;
  for (const [chunkId, size] of e.chunks) {
    const data = await chunk(chunkId);
    if (data.length !== size)
      throw new Error(
        `chunk ${chunkId.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
      );
    parts.push(data);
    total += size;
  }
  if (total !== e.size) throw new Error(`${e.path} came out ${total} bytes, the manifest says ${e.size}`);
  // Opened on the thread pool: creating a file waits on the filesystem's journal, which other
  // writers on the machine may hold for milliseconds; sixteen opens wait at once that way.
  const fh = await open(dest, 'wx', e.mode & 0o777);
  try {
    let at = 0;
    while (at < total) at += writevSync(fh.fd, at === 0 ? parts : [Buffer.concat(parts).subarray(at)]);
    fchmodSync(fh.fd, e.mode & 0o777);
    if (sync) await fh.sync();
    const st = fstatSync(fh.fd);
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}

/** Files from this size on get a head start on their flush when written early (writeFromBaseFile). */
const EARLY_FLUSH = 8 * 1024 * 1024;

/**
 * Writes a changed file at `dest` (which must not exist) from its earlier version and `chunk`
 * (file-from-base.ts) and gives it the manifest's mode; returns its size and mtime, or undefined,
 * having written nothing, when the base shares no chunk with it. With `early` (the file written
 * while its chunks are still being fetched), a large file's data is flushed right away: the
 * assembly's durable step, which still syncs it, then finds little left to write.
 */
export async function writeFromBaseFile(opts: {
  e: Extract<ManifestEntry, { type: 'file' }>;
  dest: string;
  base: BaseFile;
  chunk: (id: ChunkId) => Promise<Buffer | undefined>;
  direct?: DirectSink;
  sync: boolean;
  early?: boolean;
}): Promise<[number, number] | undefined> {
  const { e, dest } = opts;
  const flush = opts.early === true && e.size >= EARLY_FLUSH;
  if (!(await writeFromBase({ ...opts, flush }))) return undefined;
  trace(`written from base: ${e.path}`);
  return finishFile(dest, e.mode & 0o777, opts.sync || flush);
}

/** Gives a file written from its base the manifest's mode; returns its size and mtime. */
async function finishFile(dest: string, mode: number, sync: boolean): Promise<[number, number]> {
  const fh = await open(dest, 'r+');
  try {
    await fh.chmod(mode);
    if (sync) await fh.sync();
    const st = await fh.stat();
    return [st.size, st.mtimeMs];
  } finally {
    await fh.close();
  }
}

/**
 * Gives the staging's manifest file (this very release's: the staging is named by the manifest's
 * digest, and a restart re-validates the file) the release manifest's name too, made durable
 * first, instead of serializing and writing the same 3 MB again (20,000 files); false when that
 * failed (then it is written). loadReleases() validates it like any.
 */
async function linkManifest(staged: string, dest: string, durable: boolean): Promise<boolean> {
  try {
    if (durable) await fsyncPath(staged);
    await rm(dest, { force: true });
    await link(staged, dest);
  } catch {
    return false;
  }
  if (durable) await fsyncPath(path.dirname(dest));
  return true;
}

/** Flushes the filesystem holding `p` (syncfs(2) through coreutils' `sync -f`); false if it failed. */
function syncFilesystem(p: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => execFile('sync', ['-f', p], (e) => resolve(!e)));
}

/** Whether two paths are on one filesystem (false when either cannot be looked at). */
async function sameFilesystem(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([stat(a), stat(b)]);
    return sa.dev === sb.dev;
  } catch {
    return false;
  }
}

/** fsyncs paths, several at once (the journal commits concurrent syncs together). */
async function fsyncEach(paths: string[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < paths.length) await fsyncPath(paths[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(WIDTH, paths.length) }, worker));
}

/** Where a release's file stats (as assembled) are kept. */
export function statsFile(layout: Layout, id: ReleaseId): string {
  return path.join(layout.manifests, `${id}.stat`);
}

/**
 * The stats of the release this process assembled last, as written: the next deploy's file index
 * asks for them first, and they are handed over once instead of read and parsed back (20,000
 * entries).
 */
let assembled: { file: string; stats: FileStats } | undefined;

/** The file stats recorded when a release was assembled. */
export async function readStats(layout: Layout, id: ReleaseId): Promise<FileStats | undefined> {
  const file = statsFile(layout, id);
  if (assembled?.file === file) {
    const { stats } = assembled;
    assembled = undefined;
    return stats;
  }
  try {
    return JSON.parse(await readFile(file, 'utf8')) as FileStats;
  } catch {
    return undefined;
  }
}

/** Points `current` at a release (or removes it) without a moment where it is missing. */
export async function switchCurrent(layout: Layout, id: ReleaseId | null): Promise<void> {
  if (id === null) {
    await rm(layout.current, { force: true });
    return;
  }
  const tmp = `${layout.current}.tmp-${randomBytes(4).toString('hex')}`;
  await symlink(path.join('releases', id), tmp);
  await rename(tmp, layout.current);
  await fsyncPath(layout.root);
}

/** The release `current` points at, if any. */
export async function currentRelease(layout: Layout): Promise<ReleaseId | null> {
  const target = await readlink(layout.current).catch(() => undefined);
  if (!target) return null;
  const id = path.basename(target);
  return isReleaseId(id) ? id : null;
}

/** Kept releases with their manifests; removes half-written ones left by a crash. */
export async function loadReleases(layout: Layout): Promise<Map<ReleaseId, Manifest>> {
  await emptyTrash(layout);
  await mkdir(layout.releases, { recursive: true });
  await mkdir(layout.manifests, { recursive: true });
  const out = new Map<ReleaseId, Manifest>();
  const dirs = new Set(await readdir(layout.releases));
  for (const name of dirs) {
    if (name.startsWith('.tmp-'))
      await rm(path.join(layout.releases, name), { recursive: true, force: true });
  }
  for (const file of await readdir(layout.manifests)) {
    if (!file.endsWith('.json')) continue;
    const id = file.replace(/\.json$/, '');
    const parsed =
      isReleaseId(id) && dirs.has(id) ? validateManifest(await readJsonFile(layout.manifest(id))) : null;
    if (parsed?.ok) out.set(id as ReleaseId, parsed.value);
    else await rm(path.join(layout.manifests, file), { force: true });
  }
  for (const name of dirs) {
    if (!name.startsWith('.tmp-') && !out.has(name as ReleaseId)) {
      await rm(path.join(layout.releases, name), { recursive: true, force: true });
    }
  }
  return out;
}

async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Deletes a release and its manifest. The folder is renamed into `trash/` at once (so the
 * release is gone in one step) and emptied in the background by `rm -rf` in a child process
 * (Node's own recursive rm of 20,000 files takes the agent's thread for a few hundred
 * milliseconds, delaying the activation that pruned it); whatever a crash leaves there is
 * emptied when the agent next opens.
 */
export async function removeRelease(layout: Layout, id: ReleaseId): Promise<void> {
  await rm(layout.manifest(id), { force: true });
  await rm(statsFile(layout, id), { force: true });
  if (assembled?.file === statsFile(layout, id)) assembled = undefined;
  await mkdir(layout.trash, { recursive: true });
  const doomed = path.join(layout.trash, `${id}-${randomBytes(4).toString('hex')}`);
  const moved = await rename(layout.release(id), doomed).then(
    () => true,
    () => false,
  );
  if (!moved) await rm(layout.release(id), { recursive: true, force: true });
  else emptyLater(doomed);
}

/** Removes `dir` in a child process, or in-process where `rm` cannot be started. */
function emptyLater(dir: string): void {
  const fallback = () => void rm(dir, { recursive: true, force: true }).catch(() => {});
  try {
    const child = spawn('rm', ['-rf', '--', dir], { stdio: 'ignore' });
    child.on('error', fallback);
    child.unref();
  } catch {
    fallback();
  }
}

/** Empties `trash/` (releases whose removal a crash or shutdown cut short). */
async function emptyTrash(layout: Layout): Promise<void> {
  await rm(layout.trash, { recursive: true, force: true });
}
