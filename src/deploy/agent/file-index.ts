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
import { type FileStats, readStats, type SameFile } from './releases.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export class FileIndex {
  readonly #files = new Map<string, { release: ReleaseId; path: string }>();
  /** Promises, so the many files assembled at once read each release's stats once, not once each. */
  readonly #stats = new Map<ReleaseId, Promise<FileStats | undefined>>();
  /** Each kept release's folder. */
  readonly #dirs = new Map<ReleaseId, string>();

  /** Each path's latest file among the kept releases, built when first asked for after a rebuild. */
  #byPath: Map<string, { release: ReleaseId; e: FileEntry }> | undefined;

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
    for (const id of this.#dirs.keys()) if (!releases.has(id)) this.#dirs.delete(id);
  }

  /** A kept release's file with the same content, if its size and mtime are as assembled. */
  async identical(e: FileEntry, releases: Map<ReleaseId, Manifest>): Promise<SameFile | undefined> {
    const hit = this.#lookup(e, releases);
    return hit && this.#untouched(hit.release, hit.path);
  }

  /**
   * Whether a kept release lists a file with the same content and its size and mtime at
   * assembly, without looking at the file itself (identical() does, later).
   */
  async indexed(e: FileEntry, releases: Map<ReleaseId, Manifest>): Promise<boolean> {
    const hit = this.#lookup(e, releases);
    return hit !== undefined && (await this.#statsOf(hit.release))?.[hit.path] !== undefined;
  }

  #lookup(
    e: FileEntry,
    releases: Map<ReleaseId, Manifest>,
  ): { release: ReleaseId; path: string } | undefined {
    if (this.#unindexed) {
      for (const [id, m] of this.#unindexed)
        for (const x of m.entries)
          if (x.type === 'file' && x.size > 0) this.#files.set(fileKey(x), { release: id, path: x.path });
      this.#unindexed = undefined;
    }
    const hit = this.#files.get(fileKey(e));
    return hit && releases.has(hit.release) ? hit : undefined;
  }

  #statsOf(release: ReleaseId): Promise<FileStats | undefined> {
    let stats = this.#stats.get(release);
    if (!stats) {
      stats = readStats(this.layout, release);
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
    if (!this.#byPath) {
      this.#byPath = new Map();
      for (const [id, m] of releases)
        for (const x of m.entries) if (x.type === 'file') this.#byPath.set(x.path, { release: id, e: x });
    }
    const hit = this.#byPath.get(e.path);
    if (!hit || !releases.has(hit.release)) return undefined;
    const same = await this.#untouched(hit.release, e.path);
    return same ? { path: same.path, chunks: hit.e.chunks } : undefined;
  }

  /** A kept release's file if its size and mtime are still those recorded at assembly. */
  async #untouched(release: ReleaseId, rel: string): Promise<SameFile | undefined> {
    const rec = (await this.#statsOf(release))?.[rel];
    let dir = this.#dirs.get(release);
    if (dir === undefined) {
      dir = this.layout.release(release);
      this.#dirs.set(release, dir);
    }
    // `rel` is a validated manifest path (no empty, "." or ".." segment): joined as path.join
    // would, without normalizing twenty thousand strings.
    const file = `${dir}${path.sep}${rel}`;
    // Synchronous for the same reason as the links that follow (releases.ts).
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

/** Identity of a file's content: its size and chunk list (the ids themselves: no hashing per lookup). */
function fileKey(e: Extract<ManifestEntry, { type: 'file' }>): string {
  return e.chunks.length === 1
    ? `${e.size}:${e.chunks[0]![0]}`
    : `${e.size}:${e.chunks.map((c) => c[0]).join('')}`;
}
