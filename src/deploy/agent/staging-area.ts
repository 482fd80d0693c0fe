/**
 * A release being staged, in `staging/<id>/` with its manifest beside it (`staging/<id>.json`).
 * A chunk fetched for a file that is written from chunks (not linked from a kept release nor
 * written from an earlier version of itself) goes straight into that file at each of its offsets,
 * once, instead of into the chunk pool first and into the release later. The folder outlives a
 * failed transfer and a crash: when the agent opens, every chunk in it is read back and its
 * SHA-256 checked (a torn write, or bytes someone changed, fail and are fetched again), and the
 * next stage of that release carries on from what passed. Assembly (assembly.ts) fills in the
 * chunks that came from elsewhere, makes the files durable and renames the folder into
 * `releases/`. Files are created with their mode plus the owner's write bit (most need no change
 * then) and given the manifest's mode once complete; a file found
 * hard-linked (a link an interrupted assembly made to a kept release's file) is replaced, never
 * written into.
 *
 * This file holds the folder's life cycle and which chunk goes to which place; the places
 * themselves are staging-places.ts, the writing into the files staging-files.ts, the check a
 * restart makes staging-scan.ts.
 */
import { chmodSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from '../../state/atomic-write.js';
import { failpoint } from '../../util/failpoint.js';
import {
  type Manifest,
  type ManifestEntry,
  manifestJson,
  releaseIdOf,
  validateManifest,
} from '../manifest.js';
import { type ChunkId, isReleaseId, type ReleaseId } from '../types.js';
import type { Layout } from './layout.js';
import type { PreparedTree } from './prepared-tree.js';
import { StagingFiles } from './staging-files.js';
import { StagingPlaces } from './staging-places.js';
import { scanStaging } from './staging-scan.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

/** A chunk's bytes inside a staging file. */
export interface StagedLoc {
  release: ReleaseId;
  path: string;
  offset: number;
  size: number;
}

/**
 * Starts writing a staging's manifest beside its folder; true once written. Not durable: a
 * manifest lost with a power cut only means the folder is discarded. Nor waited for by the
 * caller: its 3 MB (20,000 files) are written on libuv's pool meanwhile. A crash before it lands
 * leaves a folder without a manifest, which reopen() removes as it does one whose manifest was
 * lost; the assembly links it as the release's manifest and waits for it first
 * (manifestWritten()).
 */
function manifestBeside(layout: Layout, id: ReleaseId, json: string): Promise<boolean> {
  return writeAtomic(layout.stagingManifest(id), json, { durable: false }).then(
    () => true,
    () => false,
  );
}

export class StagingArea {
  readonly dir: string;
  readonly files: FileEntry[];
  /** Every chunk place of every file, and which hold their chunk (staging-places.ts). */
  readonly #places: StagingPlaces;
  /** The files as chunks are written into them (staging-files.ts). */
  readonly #files: StagingFiles;
  /** Files written from chunks (plan()); the others are linked or written at assembly. */
  readonly #direct: Uint8Array;
  /** Chunk -> its places among the direct files still to write while fetching. */
  readonly #at = new Map<ChunkId, number | number[]>();
  /** Per direct file: places still to be written while fetching; its fd closes at 0. */
  readonly #left: Int32Array;
  #fresh: boolean;
  /** The manifest beside the folder being written (create()): true once it is in place. */
  #manifestWrite: Promise<boolean> = Promise.resolve(true);

  private constructor(
    readonly layout: Layout,
    readonly id: ReleaseId,
    readonly manifest: Manifest,
    fresh: boolean,
  ) {
    this.#fresh = fresh;
    this.dir = layout.stagingDir(id);
    this.#places = new StagingPlaces(id, manifest);
    this.files = this.#places.files;
    this.#files = new StagingFiles(this.dir, this.#places, this);
    this.#direct = new Uint8Array(this.files.length);
    this.#left = new Int32Array(this.files.length);
  }

  /**
   * Starts staging `id` here: its manifest beside the folder, its folders created. With
   * `prepared` (a tree of this manifest's folders and empty files made ahead, prepared-tree.ts),
   * that tree becomes the folder, its files then written into rather than created.
   */
  static async create(
    layout: Layout,
    id: ReleaseId,
    manifest: Manifest,
    prepared?: PreparedTree,
    /** The manifest's canonical JSON, when made already (manifestJson: the release id's text). */
    json = manifestJson(manifest),
  ): Promise<StagingArea> {
    await mkdir(layout.staging, { recursive: true });
    // Written while the folders are made, the plan looked up and the fetch runs.
    const written = manifestBeside(layout, id, json);
    await rm(layout.stagingDir(id), { recursive: true, force: true });
    // A tree that failed or does not match is left to its owner to delete; the folder is made here.
    const moved = prepared?.matches(manifest) && (await prepared.moveTo(layout.stagingDir(id)));
    const area = new StagingArea(layout, id, manifest, true);
    area.#manifestWrite = written;
    if (moved && prepared) area.#files.adopt(prepared.takeOpen());
    await area.#folders();
    return area;
  }

  /**
   * Makes the folder `staging/<from>` (a streamed stage's, stream-stage.ts: every file complete,
   * given its mode and closed, `mtimes` noted per file in manifest order) the staging folder of
   * `id`, whose manifest it holds (checked, hashing to `id`): the assembly then has only the
   * folders' modes, the symlinks and the durability left to do.
   */
  static async adopt(
    layout: Layout,
    id: ReleaseId,
    manifest: Manifest,
    from: string,
    mtimes: readonly number[],
    /** The manifest's canonical JSON, when made already (manifestJson). */
    json = manifestJson(manifest),
  ): Promise<StagingArea> {
    // Written while the folder is renamed and the assembly goes through the files.
    const written = manifestBeside(layout, id, json);
    await rm(layout.stagingDir(id), { recursive: true, force: true });
    await rename(path.join(layout.staging, from), layout.stagingDir(id));
    const area = new StagingArea(layout, id, manifest, true);
    area.#manifestWrite = written;
    area.#places.done.fill(1);
    area.#direct.fill(1);
    for (let f = 0; f < mtimes.length; f++) area.#files.noteFinal(f, mtimes[f]!);
    return area;
  }

  /**
   * The releases left half-staged by a crash, each scanned (every chunk in place read back and
   * hashed; `found` hears the intact ones). Folders without a valid manifest, and those of
   * releases already kept, are removed.
   */
  static async reopen(
    layout: Layout,
    kept: (id: ReleaseId) => boolean,
    found: (chunk: ChunkId, loc: StagedLoc) => void,
  ): Promise<StagingArea[]> {
    await mkdir(layout.staging, { recursive: true });
    const out: StagingArea[] = [];
    const names = new Set(await readdir(layout.staging));
    for (const name of names) {
      const base = name.replace(/\.json$/, '');
      const id = isReleaseId(base) ? base : undefined;
      const parsed =
        id && !kept(id) && names.has(`${id}.json`) && names.has(id)
          ? validateManifest(await readJson(layout.stagingManifest(id)))
          : undefined;
      if (id && parsed?.ok && releaseIdOf(parsed.value) === id) {
        if (name !== id) continue; // the manifest: opened with its folder
        const area = new StagingArea(layout, id, parsed.value, false);
        await area.#folders();
        await scanStaging(area.dir, area.#places, found);
        out.push(area);
      } else await rm(path.join(layout.staging, name), { recursive: true, force: true });
    }
    return out;
  }

  /**
   * False when the folder may hold entries this staging did not write as it went: it was there
   * before (a resume), or an assembly began in it (and failed: what it linked or wrote stays).
   * An assembly then replaces what it finds instead of creating each entry anew.
   */
  get fresh(): boolean {
    return this.#fresh;
  }

  /** An assembly is about to write here: to the next one, whatever it leaves is stale. */
  assembling(): void {
    this.#fresh = false;
  }

  /**
   * Whether the manifest beside the folder is in place (false: its write failed, and the folder
   * would not survive a restart): waited for before the assembly gives it the release
   * manifest's name, and before it is removed (a write landing after would leave it behind).
   */
  manifestWritten(): Promise<boolean> {
    return this.#manifestWrite;
  }

  /** When the manifest beside the folder was written (for expiring abandoned stagings). */
  async age(): Promise<number> {
    await this.#manifestWrite;
    const st = await stat(this.layout.stagingManifest(this.id)).catch(() => undefined);
    return Date.now() - (st?.mtimeMs ?? 0);
  }

  /**
   * Chooses the files written from chunks as they arrive: `direct(e)` for each file; `absent`
   * tells which chunks will be fetched (the others are filled in at assembly).
   */
  plan(direct: (e: FileEntry) => boolean, absent: (id: ChunkId) => boolean): void {
    this.#direct.fill(0);
    this.#left.fill(0);
    this.#at.clear();
    // Index loops: they run once per staging over 20,000 files, mostly before they are optimized,
    // where `entries()` and destructuring cost an iterator and a pair per step.
    for (let f = 0; f < this.files.length; f++) {
      const e = this.files[f]!;
      if (!direct(e)) continue;
      this.#direct[f] = 1;
      const first = this.#places.first[f]!;
      for (let j = 0; j < e.chunks.length; j++) {
        const chunk = e.chunks[j]![0];
        const g = first + j;
        if (this.#places.done[g] || !absent(chunk)) continue;
        const at = this.#at.get(chunk);
        if (at === undefined) this.#at.set(chunk, g);
        else if (typeof at === 'number') this.#at.set(chunk, [at, g]);
        else at.push(g);
        this.#left[f]!++;
      }
    }
  }

  /** Whether e is a direct file; `k`: its number among the manifest's files, if the caller counted. */
  isDirect(e: FileEntry, k?: number): boolean {
    const f = this.#places.numberOf(e, k);
    return f !== undefined && this.#direct[f] === 1;
  }

  /**
   * Writes a verified chunk at every place of a direct file that wants it; returns one of them,
   * or undefined when no direct file wants it (the caller keeps it in the pool). Synchronous
   * while every write is (small files): no promise per chunk, 20,000 of them on a first deploy.
   */
  place(chunk: ChunkId, data: Buffer): StagedLoc | undefined | Promise<StagedLoc | undefined> {
    const at = this.#at.get(chunk);
    return at === undefined ? undefined : this.#placeFrom(at, 0, data, undefined);
  }

  /** place() from the `i`-th of the chunk's places on, `first` the place found before those. */
  #placeFrom(
    at: number | number[],
    i: number,
    data: Buffer,
    first: StagedLoc | undefined,
  ): StagedLoc | undefined | Promise<StagedLoc | undefined> {
    const n = typeof at === 'number' ? 1 : at.length;
    for (; i < n; i++) {
      const g = typeof at === 'number' ? at : at[i]!;
      const f = this.#places.fileOf[g]!;
      // The manifest's length is the claim to check; a chunk of another length is not placed.
      if (this.files[f]!.chunks[g - this.#places.first[f]!]![1] !== data.length) continue;
      if (!this.#places.done[g]) {
        this.#places.done[g] = 1;
        const w = this.#placeOne(g, f, data);
        if (w) {
          const found = first ?? this.#places.loc(g);
          return w.then(() => this.#placeFrom(at, i + 1, data, found));
        }
      }
      first ??= this.#places.loc(g);
    }
    return first;
  }

  /** Writes place g (marked done: unmarked when the write fails); closes its file when complete. */
  #placeOne(g: number, f: number, data: Buffer): void | Promise<void> {
    let w: void | Promise<void>;
    try {
      w = this.#files.write(f, data, this.#places.offset[g]!);
    } catch (e) {
      this.#places.done[g] = 0;
      throw e;
    }
    if (!w) return this.#placed(f);
    return w.then(
      () => this.#placed(f),
      (e: unknown) => {
        this.#places.done[g] = 0;
        throw e;
      },
    );
  }

  #placed(f: number): void | Promise<void> {
    failpoint('agent:placed');
    if (--this.#left[f]! <= 0) return this.#files.closeFile(f);
  }

  /**
   * Assembly of a direct file: writes the chunks still missing (from `chunk`, verified), gives
   * it the manifest's mode and returns its size and mtime.
   */
  async finish(e: FileEntry, chunk: (id: ChunkId) => Promise<Buffer>): Promise<[number, number]> {
    const f = this.#places.index.get(e.path)!;
    const first = this.#places.first[f]!;
    const dest = this.#files.pathOf(e);
    for (const [j, [id, size]] of e.chunks.entries()) {
      const g = first + j;
      if (this.#places.done[g]) continue;
      const data = await chunk(id);
      if (data.length !== size)
        throw new Error(
          `chunk ${id.slice(0, 12)} of ${e.path} is ${data.length} bytes, the manifest says ${size}`,
        );
      await this.#files.write(f, data, this.#places.offset[g]!);
      this.#places.done[g] = 1;
    }
    if (e.chunks.length === 0) await this.#files.fd(f); // an empty file: created
    await this.#files.closeFile(f);
    const mtime = this.#files.finalMtime(f);
    if (!Number.isNaN(mtime)) return [e.size, mtime];
    let st = statSync(dest);
    // Longer: bytes past the end left by someone else in a resumed folder (every place is in).
    if (st.size > e.size) {
      truncateSync(dest, e.size);
      st = statSync(dest);
    }
    if (st.size !== e.size)
      throw new Error(`${e.path} came out ${st.size} bytes, the manifest says ${e.size}`);
    if ((st.mode & 0o777) !== (e.mode & 0o777)) {
      chmodSync(dest, e.mode & 0o777);
      st = statSync(dest);
    }
    return [st.size, st.mtimeMs];
  }

  /**
   * A direct file's size and mtime when every chunk went in while fetching and its descriptor is
   * closed with both noted (#settle): the assembly then has nothing to do for it. Else undefined
   * (finish() completes it).
   */
  finished(e: FileEntry, k?: number): [number, number] | undefined {
    const f = this.#places.numberOf(e, k);
    if (f === undefined || this.#direct[f] !== 1 || this.#files.isOpen(f)) return undefined;
    const mtime = this.#files.finalMtime(f);
    return Number.isNaN(mtime) ? undefined : [e.size, mtime];
  }

  /** Closes every file still open (a failed or finished staging). */
  close(): Promise<void> {
    return this.#files.close();
  }

  /** Forgets the staging once its folder became `releases/<id>`. */
  async settled(): Promise<void> {
    await this.close();
    await this.#manifestWrite;
    await rm(this.layout.stagingManifest(this.id), { force: true });
  }

  /** Deletes an abandoned staging. */
  async remove(): Promise<void> {
    await this.close();
    await this.#manifestWrite;
    await rm(this.layout.stagingManifest(this.id), { force: true });
    await rm(this.dir, { recursive: true, force: true });
  }

  async #folders(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const e of this.manifest.entries) {
      if (e.type !== 'dir') continue;
      const dest = path.resolve(this.dir, e.path);
      if (!dest.startsWith(this.dir + path.sep)) throw new Error(`refused path ${e.path}`);
      // On this thread: a quick call each (a prepared tree has them all already), where a
      // thread-pool round trip each cost more (240 folders: ~30 ms before the transfer began).
      mkdirSync(dest, { recursive: true, mode: 0o755 });
      // An interrupted assembly may have given a folder its final, read-only mode already.
      if (!this.fresh) chmodSync(dest, 0o755);
    }
  }
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}
