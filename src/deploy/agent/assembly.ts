/**
 * Assembling `releases/<id>`: in its staging folder (staging-area.ts: files written from chunks
 * received their fetched chunks there already) or a temporary one, renamed into place. Files
 * unchanged since a kept release are cloned or hard-linked from it (link-pass.ts), changed ones
 * written from their earlier version, the rest completed or written from chunks (file-writes.ts).
 * Durable (durability.ts): every written file and every folder of a release is on disk before the
 * rename and the parent folder after it, so a power cut never leaves a release whose name exists
 * but whose bytes do not.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, link, mkdir, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath, writeAtomic } from '../../state/atomic-write.js';
import { trace } from '../../util/trace.js';
import { type Manifest, type ManifestEntry, manifestJson } from '../manifest.js';
import type { ChunkId, ReleaseId } from '../types.js';
import {
  type Durability,
  flushesFilesystem,
  fsyncEach,
  sameFilesystem,
  syncFilesystem,
} from './durability.js';
import type { BaseFile } from './file-from-base.js';
import { writeFromBaseFile, writeFromChunks } from './file-writes.js';
import { staysInside } from './inside.js';
import type { Layout } from './layout.js';
import type { LinkedAhead } from './link-ahead.js';
import { linkUnchanged, reuse, type SameAs } from './link-pass.js';
import { type FileStats, noteAssembled, statsFile, writeStats } from './release-stats.js';
import type { StagingArea } from './staging-area.js';

/** How many files are linked, written or fsynced at once. */
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
  /**
   * Unchanged files linked into `area` during the fetch (link-ahead.ts), by path: taken as linked;
   * the others that have a twin go through the link pass here.
   */
  linkedAhead?: Promise<LinkedAhead>;
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
  const ahead = await opts.linkedAhead;
  try {
    const files: Extract<ManifestEntry, { type: 'file' }>[] = [];
    /** Files that may be a kept one's twin, for the link pass (those it leaves come back to `files`). */
    const unchanged: Extract<ManifestEntry, { type: 'file' }>[] = [];
    /** The file entries so far: the staging finds a file by its number (StagingPlaces numberOf). */
    let k = -1;
    for (const e of manifest.entries) {
      if (e.type === 'file') k++;
      // Paths were validated (no "..", not absolute, parents are real folders); checked again
      // anyway so a bug in validation cannot write outside the release.
      if (!staysInside(e.path)) throw new Error(`refused path ${e.path}`);
      if (e.type === 'dir') {
        const dest = `${tmp}${path.sep}${e.path}`;
        // A fresh staging folder has its folders already (staging-area.ts, stream-files.ts):
        // nothing to do (a mkdir and a stat each, 7 ms for a streamed stage's 241 folders). One an
        // earlier attempt used may have lost some: made here, not worth a thread-pool round trip each.
        if (!area) await mkdir(dest, { mode: 0o755 });
        else if (stale) {
          mkdirSync(dest, { mode: 0o755, recursive: true });
          // An earlier assembly may have given it its final, read-only mode already.
          await chmod(dest, 0o755);
        }
      } else if (e.type === 'symlink') {
        const dest = `${tmp}${path.sep}${e.path}`;
        if (stale) await rm(dest, { recursive: true, force: true });
        await symlink(e.target, dest);
      } else if (area?.isDirect(e, k)) {
        // Complete since the fetch (a first deploy: every file), its size and mtime noted then.
        const done = area.finished(e, k);
        if (!done) files.push(e);
        else {
          stats[e.path] = done;
          written.push(e.path);
          unsynced.push(e.path);
        }
      } else if (stale || !opts.sameAs || opts.early?.has(e.path)) files.push(e);
      else {
        const done = ahead?.get(e.path);
        if (!done) unchanged.push(e);
        else {
          stats[e.path] = done;
          linked++;
        }
      }
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
    const flush = durable && flushesFilesystem(durability, written.length);
    // The stats and the manifest, on the filesystem that is flushed, are written before the flush,
    // which makes them durable with the rest: no syncs of their own (four, one of a 3 MB manifest).
    const covered = flush && (await sameFilesystem(tmp, layout.manifests));
    await writeStats(layout, id, stats, durable && !covered);
    // The manifest lands before the release's name: a release folder without one is an
    // interrupted assembly.
    const landManifest = async (sync: boolean) => {
      // The staging's manifest is written beside the fetch (staging-area.ts create): in place first.
      const staged = area !== undefined && (await area.manifestWritten());
      if (!(staged && (await linkManifest(layout.stagingManifest(id), layout.manifest(id), sync))))
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
        await fsyncEach(
          (durability === 'fsync' ? unsynced : written).map((p) => `${tmp}${path.sep}${p}`),
          WIDTH,
        );
        await fsyncEach(dirs, WIDTH);
        await fsyncPath(tmp);
        // Written before a flush that failed: synced now.
        if (covered) await fsyncEach([statsFile(layout, id), layout.manifest(id), layout.manifests], WIDTH);
      }
    }
    trace(`assemble ${id}: durable`);
    if (!covered) await landManifest(durable);
    await rm(layout.release(id), { recursive: true, force: true });
    await rename(tmp, layout.release(id));
    if (durable) await fsyncPath(layout.releases);
    noteAssembled(layout, id, stats);
    await area?.settled();
    return linked;
  } catch (e) {
    if (area) await area.close();
    else await rm(tmp, { recursive: true, force: true });
    throw e;
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
