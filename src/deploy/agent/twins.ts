/**
 * Twin releases: a release whose content (chunking and every entry) is that of a kept release,
 * only its version differing, as an unchanged artifact redeployed under a new version is. Its
 * folder is not built again: `releases/<id>` becomes a symlink to the kept release's folder
 * (`releases/<twin>`), with a manifest of its own, so history, activation and rollback see two
 * releases while the disk holds one tree. It is made only after the kept folder is checked to
 * be exactly as assembled (every name, mode, symlink target, and each file's size and mtime as
 * recorded), so an app that wrote into its release gets a fresh one instead. The kept folder
 * stays while any twin of it is kept (agent.ts pins it when pruning).
 *
 * That check can be taken ahead (`precheckTwin`): a deployer asks for it as it starts, so the
 * agent lstats the current release's folder while the deployer walks its artifact, and the stage
 * request of an unchanged redeploy finds the verdict waiting. A verdict is used once, and only
 * while fresh (`PRECHECK_FRESH_MS`): the folder is then known as assembled that long before the
 * link, as it is known only until the link anyway (an app writing into it later writes into both
 * releases). A verdict that found the folder touched is not trusted either way: makeTwin checks.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { link, open, readdir, readlink, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath } from '../../state/atomic-write.js';
import { lstatNumbers } from '../../util/lstat-numbers.js';
import { trace } from '../../util/trace.js';
import { type Manifest, manifestJson, sameEntry } from '../manifest.js';
import { isReleaseId, type ReleaseId } from '../types.js';
import type { Layout } from './layout.js';
import { type FileStats, readStats, statsFile } from './release-stats.js';

/** Whether two manifests describe the same tree (their versions aside). */
function sameContent(a: Manifest, b: Manifest): boolean {
  if (a.entries.length !== b.entries.length) return false;
  if (a.chunking.min !== b.chunking.min || a.chunking.avg !== b.chunking.avg) return false;
  if (a.chunking.max !== b.chunking.max) return false;
  for (let i = 0; i < a.entries.length; i++) {
    // A manifest rebuilt from a delta shares its unchanged entries with the base: most compare
    // by reference.
    if (a.entries[i] !== b.entries[i] && !sameEntry(a.entries[i]!, b.entries[i]!)) return false;
  }
  return true;
}

/**
 * Folders a check found holding exactly the manifest's names, per stats checked against (a
 * release pruned and staged again has others): folder -> its ctime then. A name made, removed or
 * renamed in a folder since sets its ctime to the time of that change (POSIX; no call sets a
 * ctime back), so a folder whose ctime is still that one holds the same names: the next check
 * takes its count as it stands instead of listing it again (242 listings, ~12 ms of each check
 * of 20,000 files). Only ctimes older than the check by SETTLED_MS are kept: the kernel stamps
 * changes with a clock coarser than a millisecond, and a change in the same tick as the one
 * recorded would leave the ctime as it was.
 */
const countedFolders = new WeakMap<FileStats, Map<string, number>>();

/** How much older than a check a folder's ctime must be for its count to be kept (see above). */
const SETTLED_MS = 1_000;

/**
 * Whether `dir` holds exactly `manifest` as assembled: the same names in every folder, the same
 * modes and symlink targets, each file the size and mtime recorded at assembly (`stats`).
 * Synchronous: twenty thousand lstat calls cost tens of milliseconds this way and far more as
 * one thread-pool round trip each.
 */
function untouched(dir: string, manifest: Manifest, stats: FileStats, now: number): boolean {
  const children = new Map<string, number>([['.', 0]]);
  const counted = countedFolders.get(stats);
  /** Each folder's ctime as this check found it, taken before its names are counted. */
  const ctimes = new Map<string, number>();
  // Entries come folder by folder: names are counted per run of one parent, which is sliced
  // out of a path once per run instead of once per entry.
  let parent = '.';
  let run = 0;
  // Joined by hand: a manifest's paths are checked plain relative paths (manifest.ts), and
  // path.join's normalization of twenty thousand of them is a fifth of this check's CPU.
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  try {
    ctimes.set('.', lstatNumbers(dir).ctimeMs);
    for (const e of manifest.entries) {
      const slash = e.path.lastIndexOf('/');
      const same =
        slash < 0 ? parent === '.' : slash === parent.length && parent !== '.' && e.path.startsWith(parent);
      if (!same) {
        children.set(parent, (children.get(parent) ?? 0) + run);
        parent = slash < 0 ? '.' : e.path.slice(0, slash);
        run = 0;
      }
      run++;
      // Throws for a missing path: caught below, as any other difference.
      const st = lstatNumbers(prefix + e.path);
      if (e.type === 'dir') {
        if (!st.isDirectory() || (st.mode & 0o777) !== e.mode) return false;
        children.set(e.path, children.get(e.path) ?? 0);
        ctimes.set(e.path, st.ctimeMs);
      } else if (e.type === 'symlink') {
        if (!st.isSymbolicLink() || readlinkSync(prefix + e.path) !== e.target) return false;
      } else {
        const rec = stats[e.path];
        if (!st.isFile() || !rec || (st.mode & 0o777) !== (e.mode & 0o777)) return false;
        if (st.size !== rec[0] || st.mtimeMs !== rec[1]) return false;
      }
    }
    children.set(parent, (children.get(parent) ?? 0) + run);
    // Every name is one of the manifest's (nothing added beside them): counts per folder suffice.
    for (const [rel, n] of children) {
      const ctime = ctimes.get(rel);
      if (ctime !== undefined && counted?.get(rel) === ctime) continue;
      if (readdirSync(rel === '.' ? dir : prefix + rel).length !== n) return false;
    }
  } catch {
    return false;
  }
  const settled = new Map<string, number>();
  for (const [rel, ctime] of ctimes) if (ctime < now - SETTLED_MS) settled.set(rel, ctime);
  countedFolders.set(stats, settled);
  return true;
}

/** How long a verdict taken ahead stands in for the check at a stage request. */
export const PRECHECK_FRESH_MS = 5_000;

/**
 * Verdicts taken ahead, per agent folder: folder owner -> when the check began, if untouched,
 * and the stats it checked against (a release pruned and staged again has others).
 */
const prechecked = new WeakMap<Layout, Map<ReleaseId, { at: number; stats: FileStats }>>();

/**
 * Checks the folder of `release` (a kept release or twin, `manifest` its content) against its
 * stats at assembly now, for a stage request soon after (makeTwin). Returns whether untouched.
 */
export async function precheckTwin(
  layout: Layout,
  twins: ReadonlyMap<ReleaseId, ReleaseId>,
  release: ReleaseId,
  manifest: Manifest,
  /**
   * Kept releases' stats from the cache makeTwin is given too (file-index.ts): a verdict stands
   * for the stats it was checked against, which a release pruned and staged again does not share.
   */
  statsOf: (release: ReleaseId) => Promise<FileStats | undefined>,
  now: () => number = Date.now,
): Promise<boolean> {
  const of = twins.get(release) ?? release;
  const verdicts = prechecked.get(layout) ?? new Map<ReleaseId, { at: number; stats: FileStats }>();
  prechecked.set(layout, verdicts);
  verdicts.delete(of);
  const at = now();
  // Verdicts past their freshness stand for nothing (takePrechecked): dropped, and with them the
  // stats they hold. Kept, an edit's (whose stage never takes it) held its release's stats after
  // its pruning: ~2.5 MB of the 20,000-file shape's agent's heap more at every deploy.
  for (const [id, v] of verdicts)
    if (!(at - v.at >= 0 && at - v.at <= PRECHECK_FRESH_MS)) verdicts.delete(id);
  trace(`twin precheck ${of}: begun`);
  const stats = await statsOf(of);
  trace(`twin precheck ${of}: stats read`);
  const ok = stats !== undefined && untouched(layout.release(of), manifest, stats, now());
  if (ok) verdicts.set(of, { at, stats });
  trace(`twin precheck ${of}: ${ok ? 'untouched' : 'touched'}`);
  return ok;
}

/** How many verdicts taken ahead are held for `layout` (for tests). */
export function precheckedVerdicts(layout: Layout): number {
  return prechecked.get(layout)?.size ?? 0;
}

/** Takes (once) a fresh verdict that `of`'s folder was untouched, checked against `stats`. */
function takePrechecked(layout: Layout, of: ReleaseId, stats: FileStats, now: number): boolean {
  const verdicts = prechecked.get(layout);
  const v = verdicts?.get(of);
  if (v === undefined) return false;
  verdicts!.delete(of);
  return v.stats === stats && now - v.at >= 0 && now - v.at <= PRECHECK_FRESH_MS;
}

/** Writes `text` to `file` and fsyncs it (a temporary name, renamed by the caller). */
async function writeDurable(file: string, text: string): Promise<void> {
  const fh = await open(file, 'w');
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Makes `releases/<id>` a twin of `releases/<of>`: its stats (a hard link to the owner's), its
 * manifest (written and fsynced) and its symlink made side by side, each renamed into place,
 * then the two folders holding the names synced together, before the twin is reported staged.
 * A crash before both syncs leaves a manifest without a folder or a folder without a manifest,
 * either of which loadReleases discards, as it does an interrupted assembly. (On an unchanged
 * redeploy this is most of what the agent writes: one sync of data, two of folders at once.)
 */
async function linkTwin(layout: Layout, id: ReleaseId, of: ReleaseId, manifest: Manifest): Promise<void> {
  trace(`twin ${id}: checked`);
  const stats = statsFile(layout, id);
  const json = layout.manifest(id);
  const tag = randomBytes(4).toString('hex');
  const statsTmp = `${stats}.${tag}.tmp`;
  const jsonTmp = `${json}.${tag}.tmp`;
  const linkTmp = path.join(layout.releases, `.tmp-${id}-${tag}`);
  await Promise.all([
    // The same stats: a second name for the owner's file (never rewritten in place: writeStats
    // renames a new one over it), durable since its assembly, instead of 1 MB copied and synced.
    link(statsFile(layout, of), statsTmp),
    writeDurable(jsonTmp, manifestJson(manifest, true)),
    symlink(of, linkTmp),
  ]);
  await Promise.all([rename(statsTmp, stats), rename(jsonTmp, json), rename(linkTmp, layout.release(id))]);
  // The manifests folder holds the stats' and the manifest's names, the releases folder the
  // symlink's: both synced at once.
  await Promise.all([fsyncPath(path.dirname(json)), fsyncPath(layout.releases)]);
  trace(`twin ${id}: stats, manifest and folder written`);
}

/** The twins on disk: each symlinked release -> the release whose folder it shares. */
export async function readTwins(layout: Layout): Promise<Map<ReleaseId, ReleaseId>> {
  const out = new Map<ReleaseId, ReleaseId>();
  for (const d of await readdir(layout.releases, { withFileTypes: true }).catch(() => [])) {
    if (!d.isSymbolicLink() || !isReleaseId(d.name)) continue;
    const target = await readlink(path.join(layout.releases, d.name)).catch(() => '');
    if (isReleaseId(target)) out.set(d.name as ReleaseId, target);
  }
  return out;
}

/**
 * When a kept release has the same content as `manifest` and its folder is untouched since
 * assembly, makes `id` its twin (recorded in `twins`, pinned from then on: pruning keeps the
 * folder of every twin kept or being staged) and returns the folder's owner; else undefined.
 */
export async function makeTwin(
  layout: Layout,
  releases: Map<ReleaseId, Manifest>,
  twins: Map<ReleaseId, ReleaseId>,
  id: ReleaseId,
  manifest: Manifest,
  /** A kept release's stats at assembly, from a cache (file-index.ts) rather than parsed each time. */
  statsOf: (release: ReleaseId) => Promise<FileStats | undefined> = (r) => readStats(layout, r),
  now: () => number = Date.now,
): Promise<ReleaseId | undefined> {
  const tried = new Set<ReleaseId>();
  for (const [kept, m] of releases) {
    const of = twins.get(kept) ?? kept;
    if (tried.has(of) || !sameContent(m, manifest)) continue;
    tried.add(of);
    const stats = await statsOf(of);
    if (!stats) continue;
    const at = now();
    if (!takePrechecked(layout, of, stats, at) && !untouched(layout.release(of), manifest, stats, at))
      continue;
    twins.set(id, of);
    try {
      await linkTwin(layout, id, of, manifest);
    } catch (e) {
      twins.delete(id);
      trace(`stage ${id}: no twin of ${of}: ${(e as Error).message}`);
      return undefined;
    }
    return of;
  }
  return undefined;
}
