/**
 * The chunk places of a release being staged (staging-area.ts): every chunk of every file, flat
 * over the files (20,000 files: a few arrays, not 100,000 objects), each with its offset and
 * whether it holds its chunk yet. Written as chunks arrive (staging-area.ts, staging-files.ts)
 * and checked by a restart (staging-scan.ts).
 */
import type { Manifest, ManifestEntry } from '../manifest.js';
import type { ReleaseId } from '../types.js';
import type { StagedLoc } from './staging-area.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export class StagingPlaces {
  readonly files: FileEntry[] = [];
  /** Where file f's places start; file f has places first[f] .. first[f + 1] - 1. */
  readonly first: Int32Array;
  /** Place g holds its chunk (written by this process, or checked by a scan). */
  readonly done: Uint8Array;
  readonly offset: Float64Array;
  readonly fileOf: Int32Array;
  #index: Map<string, number> | undefined;

  /**
   * File index by manifest path: made when first asked for (a streamed stage's assembly finds
   * its files by their order instead, numberOf: 20,000 paths hashed and set for nothing).
   */
  get index(): Map<string, number> {
    if (this.#index) return this.#index;
    const index = new Map<string, number>();
    for (let f = 0; f < this.files.length; f++) index.set(this.files[f]!.path, f);
    this.#index = index;
    return index;
  }

  /** File e's number: `k` when e is the k-th file (the caller counted them in manifest order), else by its path. */
  numberOf(e: FileEntry, k = -1): number | undefined {
    return this.files[k] === e ? k : this.index.get(e.path);
  }

  constructor(
    readonly release: ReleaseId,
    manifest: Manifest,
  ) {
    let places = 0;
    for (const e of manifest.entries) {
      if (e.type !== 'file') continue;
      this.files.push(e);
      places += e.chunks.length;
    }
    this.first = new Int32Array(this.files.length + 1);
    this.done = new Uint8Array(places);
    this.offset = new Float64Array(places);
    this.fileOf = new Int32Array(places);
    let g = 0;
    // Index loops (20,000 files, once, mostly before they are optimized: no iterator per step).
    for (let f = 0; f < this.files.length; f++) {
      const e = this.files[f]!;
      this.first[f] = g;
      let o = 0;
      for (let j = 0; j < e.chunks.length; j++) {
        const size = e.chunks[j]![1];
        this.offset[g] = o;
        this.fileOf[g] = f;
        o += size;
        g++;
      }
    }
    this.first[this.files.length] = g;
  }

  /** Where place g is. */
  loc(g: number): StagedLoc {
    const f = this.fileOf[g]!;
    const e = this.files[f]!;
    return {
      release: this.release,
      path: e.path,
      offset: this.offset[g]!,
      size: e.chunks[g - this.first[f]!]![1],
    };
  }
}
