/**
 * Files of kept releases by content (size and chunk list), so an unchanged file is linked or
 * cloned instead of being rebuilt chunk by chunk, when nothing touched it since assembly.
 */
import { type Stats, statSync } from 'node:fs';
import path from 'node:path';
import type { Manifest, ManifestEntry } from '../manifest.js';
import type { ReleaseId } from '../types.js';
import type { BaseFile } from './file-from-base.js';
import type { Layout } from './layout.js';
import { type FileStats, readStats, type SameFile } from './release-stats.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** A kept file as recorded at its release's assembly: `rel` in the release folder `dir`. */
interface Recorded {
  dir: string;
  rel: string;
  size: number;
  mtimeMs: number;
}

/**
 * Where a file of a kept release is, as one number (the release's rank among those indexed, times
 * this, plus the entry's index): the index of 40,000-60,000 kept files holds no object per file.
 */
const STRIDE = 2 ** 21;

export class FileIndex {
  /** Content key (fileKey) -> where: the last kept release listing that content. */
  readonly #files = new Map<string, number>();
  /** Path -> where: each path's file in the last kept release that has it (previous()). */
  #byPath: Map<string, number> | undefined;
  /** The kept releases as indexed, by rank. */
  #ranked: [ReleaseId, Manifest][] = [];
  /** Promises, so the many files assembled at once read each release's stats once, not once each. */
  readonly #stats = new Map<ReleaseId, Promise<FileStats | undefined>>();
  /** The same once read, so that identical() answers without a promise (link-pass.ts). */
  readonly #loaded = new Map<ReleaseId, FileStats | undefined>();
  /** Each kept release's folder. */
  readonly #dirs = new Map<ReleaseId, string>();

  constructor(readonly layout: Layout) {}

  /**
   * The kept releases whose files #files does not list yet: indexed when a file is first looked
   * up, so that staging a twin and pruning (whose releases keep changing and whose lookups never
   * come) do not index twenty thousand files each time.
   */
  #unindexed: Map<ReleaseId, Manifest> | undefined;

  /** Re-reads the kept releases (after staging or pruning), when next asked. */
  rebuild(releases: Map<ReleaseId, Manifest>): void {
    this.#files.clear();
    this.#byPath = undefined;
    this.#unindexed = releases;
    for (const id of this.#stats.keys()) if (!releases.has(id)) this.#stats.delete(id);
    for (const id of this.#loaded.keys()) if (!releases.has(id)) this.#loaded.delete(id);
    for (const id of this.#dirs.keys()) if (!releases.has(id)) this.#dirs.delete(id);
  }

  /**
   * A kept release's file with the same content, if its size and mtime are as assembled: at once
   * when that release's stats were read already (recorded() read them), else as a promise.
   */
  identical(
    e: FileEntry,
    releases: Map<ReleaseId, Manifest>,
  ): SameFile | undefined | Promise<SameFile | undefined> {
    const hit = this.#lookup(e, releases);
    if (!hit) return undefined;
    if (!this.#loaded.has(hit.release)) return this.#untouched(hit.release, hit.path);
    return this.#untouchedNow(this.#loaded.get(hit.release), hit.release, hit.path);
  }

  /** The kept release and entry a `where` number names. */
  #at(where: number): [ReleaseId, FileEntry] {
    const [id, m] = this.#ranked[Math.floor(where / STRIDE)]!;
    return [id, m.entries[where % STRIDE] as FileEntry];
  }

  #index(): void {
    if (!this.#unindexed) return;
    this.#ranked = [...this.#unindexed];
    // Index loops: 20,000 entries per kept release, once, no iterator and pair per entry.
    for (let r = 0; r < this.#ranked.length; r++) {
      const entries = this.#ranked[r]![1].entries;
      for (let i = 0; i < entries.length; i++) {
        const x = entries[i]!;
        if (x.type === 'file' && x.size > 0) this.#files.set(fileKey(x), r * STRIDE + i);
      }
    }
    this.#unindexed = undefined;
  }

  #lookup(
    e: FileEntry,
    releases: Map<ReleaseId, Manifest>,
  ): { release: ReleaseId; path: string } | undefined {
    this.#index();
    const where = this.#files.get(fileKey(e));
    if (where === undefined) return undefined;
    const [release, x] = this.#at(where);
    return releases.has(release) && x.size === e.size ? { release, path: x.path } : undefined;
  }

  /** A kept release's file stats at assembly, read once while it is kept (they never change). */
  stats(release: ReleaseId): Promise<FileStats | undefined> {
    let stats = this.#stats.get(release);
    if (!stats) {
      stats = readStats(this.layout, release).then((s) => {
        // Not when the release was pruned meanwhile (rebuild() dropped its promise).
        if (this.#stats.get(release) === stats) this.#loaded.set(release, s);
        return s;
      });
      this.#stats.set(release, stats);
    }
    return stats;
  }

  /**
   * The earlier version of a changed file of several chunks: the same path in the latest kept
   * release that has it, untouched since assembly (file-from-base.ts writes from it).
   */
  async previous(e: FileEntry, releases: Map<ReleaseId, Manifest>): Promise<BaseFile | undefined> {
    if (e.chunks.length < 2) return undefined;
    const found = await this.previousAt(e.path, releases);
    return found && { path: found.path, chunks: found.chunks };
  }

  /**
   * previous() by path alone, with the base's size and mtime: what a copy made ahead of the
   * stage request copies (copies-ahead.ts).
   */
  async previousAt(
    rel: string,
    releases: Map<ReleaseId, Manifest>,
  ): Promise<(BaseFile & { size: number; mtimeMs: number }) | undefined> {
    this.#index();
    if (!this.#byPath) {
      this.#byPath = new Map();
      for (let r = 0; r < this.#ranked.length; r++) {
        const entries = this.#ranked[r]![1].entries;
        for (let i = 0; i < entries.length; i++) {
          const x = entries[i]!;
          if (x.type === 'file') this.#byPath.set(x.path, r * STRIDE + i);
        }
      }
    }
    const where = this.#byPath.get(rel);
    if (where === undefined) return undefined;
    const [release, x] = this.#at(where);
    if (!releases.has(release)) return undefined;
    const same = await this.#untouched(release, rel);
    return same ? { path: same.path, chunks: x.chunks, size: same.size, mtimeMs: same.mtimeMs } : undefined;
  }

  /** A kept release's file if its size and mtime are still those recorded at assembly. */
  async #untouched(release: ReleaseId, rel: string): Promise<SameFile | undefined> {
    return this.#untouchedNow(await this.stats(release), release, rel);
  }

  /**
   * identical() without looking at the file: the kept file with the same content, as recorded at
   * its release's assembly (its size and mtime then): at once when that release's stats were read
   * already, else as a promise. Only the stats of a release a file is found in are read (an older
   * release's, read for nothing, held ~4 MB of heap per 20,000 files). Whoever links the file
   * checks it still has them (link-ahead.ts).
   */
  recorded(
    e: FileEntry,
    releases: Map<ReleaseId, Manifest>,
  ): Recorded | undefined | Promise<Recorded | undefined> {
    const hit = this.#lookup(e, releases);
    if (!hit) return undefined;
    const at = (stats: FileStats | undefined): Recorded | undefined => {
      const rec = stats?.[hit.path];
      return rec && { dir: this.#dir(hit.release), rel: hit.path, size: rec[0], mtimeMs: rec[1] };
    };
    return this.#loaded.has(hit.release)
      ? at(this.#loaded.get(hit.release))
      : this.stats(hit.release).then(at);
  }

  /** A kept release's folder. */
  #dir(release: ReleaseId): string {
    let dir = this.#dirs.get(release);
    if (dir === undefined) {
      dir = this.layout.release(release);
      this.#dirs.set(release, dir);
    }
    return dir;
  }

  #untouchedNow(stats: FileStats | undefined, release: ReleaseId, rel: string): SameFile | undefined {
    const rec = stats?.[rel];
    // `rel` is a validated manifest path (no empty, "." or ".." segment): joined as path.join
    // would, without normalizing twenty thousand strings.
    const file = `${this.#dir(release)}${path.sep}${rel}`;
    // Synchronous for the same reason as the links that follow (link-pass.ts).
    const st = statOrUndefined(file);
    // An app that wrote into its release changed size or mtime: rebuild from verified chunks.
    if (!rec || !st || st.size !== rec[0] || st.mtimeMs !== rec[1]) return undefined;
    return { path: file, mode: st.mode, size: st.size, mtimeMs: st.mtimeMs };
  }
}

function statOrUndefined(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * Identity of a file's content: its chunk ids (no hashing per lookup), a single chunk's id as it
 * is (no string made per file). The size follows from the chunks; #lookup still compares it.
 */
function fileKey(e: Extract<ManifestEntry, { type: 'file' }>): string {
  return e.chunks.length === 1 ? e.chunks[0]![0] : e.chunks.map((c) => c[0]).join('');
}
