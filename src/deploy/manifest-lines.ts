/**
 * A manifest received one entry at a time (a streamed stage, agent/stream-stage.ts), a large
 * file's chunk list perhaps first in parts: each checked where it stands by manifest.ts's rules
 * (checkEntry) before anything is done with it, the whole accepted as validateManifest would.
 */
import { err, ok, type Result } from '../util/result.js';
import { type ChunkingParams, checkParams } from './fastcdc.js';
import {
  checkEntry,
  escapingSymlink,
  MAX_ENTRIES,
  type Manifest,
  type ManifestEntry,
  markAccepted,
} from './manifest.js';
import { type ChunkId, isChunkId } from './types.js';

/** A file whose chunk list comes in parts before its entry (ManifestLines part). */
interface Parted {
  path: string;
  mode: number;
  /** The parts' bytes so far: where the next part takes up. */
  size: number;
  chunks: [ChunkId, number][];
}

/** A part of a file's chunk list, checked (ManifestLines part): `first` opens the file. */
export interface PartOf {
  path: string;
  mode: number;
  offset: number;
  chunks: [ChunkId, number][];
  first: boolean;
}

/** Why entry `raw` is not the one its parts announced, if it is not: that file, mode, chunks first. */
function partsDisagree(raw: unknown, parted: Parted): string | undefined {
  const e = raw as Record<string, unknown> | null;
  const where = JSON.stringify(parted.path);
  if (e?.type !== 'file' || e.path !== parted.path)
    return `the entry after the parts of ${where} is not that file's`;
  if (e.mode !== parted.mode) return `the entry of ${where} has another mode than its parts`;
  const chunks = e.chunks;
  if (!Array.isArray(chunks) || chunks.length < parted.chunks.length)
    return `the entry of ${where} lists fewer chunks than its parts`;
  for (const [k, [id, n]] of parted.chunks.entries()) {
    const c = chunks[k] as unknown;
    if (!Array.isArray(c) || c[0] !== id || c[1] !== n)
      return `the entry of ${where} does not list its parts' chunks first (chunk ${k})`;
  }
  return undefined;
}

/**
 * A manifest received one entry at a time (a streamed stage, agent/stream-stage.ts): each entry
 * checked as validateManifest checks it, where it stands, before anything is done with it; the
 * whole accepted (as validateManifest would) once the last has come and the symlinks are known.
 */
export class ManifestLines {
  readonly entries: ManifestEntry[] = [];
  readonly #kinds = new Map<string, ManifestEntry['type']>();

  private constructor(
    readonly version: string,
    readonly chunking: ChunkingParams,
    readonly maxEntries: number,
  ) {}

  /** Starts a manifest of `version` chunked with `chunking`, or says why it cannot be one. */
  static start(
    version: unknown,
    chunking: unknown,
    limits = { maxEntries: MAX_ENTRIES },
  ): Result<ManifestLines, string> {
    if (typeof version !== 'string' || version.length === 0 || version.length > 200)
      return err('manifest version must be a non-empty string of at most 200 characters');
    const c = chunking as ChunkingParams | undefined;
    if (!c || typeof c !== 'object') return err('manifest chunking parameters missing');
    const bad = checkParams(c);
    if (bad) return err(`manifest chunking: ${bad}`);
    return ok(new ManifestLines(version, { min: c.min, avg: c.avg, max: c.max }, limits.maxEntries));
  }

  /** Checks the next entry; returns it typed, or the problem (the manifest is then refused). */
  add(raw: unknown): Result<ManifestEntry, string> {
    if (this.entries.length >= this.maxEntries)
      return err(`manifest has more than ${this.maxEntries} entries`);
    const parted = this.#parted;
    if (parted) {
      const bad = partsDisagree(raw, parted);
      if (bad) return err(bad);
      this.#parted = undefined;
    }
    const bad = checkEntry(raw, this.chunking.max, this.#kinds);
    if (bad) return err(bad);
    this.entries.push(raw as ManifestEntry);
    return ok(raw as ManifestEntry);
  }

  /** The file whose chunk list came in parts so far (its entry is the next one), if any. */
  #parted: Parted | undefined;

  /** The file being sent in parts, if any: its path and how many chunks its parts listed. */
  get parted(): { path: string; chunks: number } | undefined {
    const p = this.#parted;
    return p && { path: p.path, chunks: p.chunks.length };
  }

  /**
   * Checks the next part of a file's chunk list, sent before its entry (a streamed stage's part
   * line): the first part places the file where its entry will stand (as checkEntry: a safe path,
   * not listed before, below a folder listed before, a valid mode); each takes up at the offset
   * where the last ended (no gap, no overlap) with at least one chunk, none past the chunking's
   * max. The entry that comes next must be that file's, with that mode, its chunk list starting
   * with the parts' (add): nothing written from a part is kept unless the entry says so.
   */
  part(p: { path: unknown; mode: unknown; offset: unknown; chunks: unknown }): Result<PartOf, string> {
    let open = this.#parted;
    if (open && open.path !== p.path)
      return err(
        `a part of ${JSON.stringify(p.path)} before the entry of ${JSON.stringify(open.path)}, sent in parts`,
      );
    if (!open) {
      if (this.entries.length >= this.maxEntries)
        return err(`manifest has more than ${this.maxEntries} entries`);
      // Placed as its entry would be, then forgotten: the entry itself is checked when it comes.
      const bad = checkEntry(
        { type: 'file', path: p.path, mode: p.mode, size: 0, chunks: [] },
        1,
        this.#kinds,
      );
      if (bad) return err(bad);
      this.#kinds.delete(p.path as string);
      open = { path: p.path as string, mode: p.mode as number, size: 0, chunks: [] };
    }
    if (p.mode !== open.mode) return err(`the parts of ${JSON.stringify(open.path)} differ in mode`);
    if (p.offset !== open.size)
      return err(
        `a part of ${JSON.stringify(open.path)} at ${String(p.offset)}, where the last ended at ${open.size}`,
      );
    if (!Array.isArray(p.chunks) || p.chunks.length === 0)
      return err(`a part of ${JSON.stringify(open.path)} without chunks`);
    const first = this.#parted === undefined;
    let size = open.size;
    for (const ch of p.chunks as unknown[]) {
      if (!Array.isArray(ch) || ch.length !== 2 || !isChunkId(ch[0]))
        return err(`bad chunk in a part of ${JSON.stringify(open.path)}`);
      const n = ch[1] as number;
      if (!Number.isInteger(n) || n <= 0 || n > this.chunking.max)
        return err(`bad chunk size in a part of ${JSON.stringify(open.path)}`);
      size += n;
    }
    if (!Number.isSafeInteger(size)) return err(`the parts of ${JSON.stringify(open.path)} are too long`);
    const chunks = p.chunks as [ChunkId, number][];
    for (const ch of chunks) open.chunks.push(ch);
    const offset = open.size;
    open.size = size;
    this.#parted = open;
    return ok({ path: open.path, mode: open.mode, offset, chunks, first });
  }

  /** The manifest of every entry added, its symlinks checked: accepted from then on. */
  finish(): Result<Manifest, string> {
    if (this.#parted) return err(`${JSON.stringify(this.#parted.path)} came in parts, but not its entry`);
    const escaping = escapingSymlink(this.entries);
    if (escaping) return err(escaping);
    const m: Manifest = { format: 1, version: this.version, chunking: this.chunking, entries: this.entries };
    markAccepted(m);
    return ok(m);
  }
}
