/**
 * A manifest as a delta against a release the agent keeps: the paths removed and the entries
 * added or changed. The agent rebuilds the whole manifest, checks it like any other
 * (validateManifest) and requires its digest to give the release id asked for, so a wrong or
 * hostile delta can only be refused, never produce a different release.
 */
import { err, ok, type Result } from '../util/result.js';
import { chunksOf, type Manifest, type ManifestEntry, sameEntry } from './manifest.js';
import type { ChunkId, ReleaseId } from './types.js';

export interface ManifestDelta {
  base: ReleaseId;
  version: string;
  chunking: Manifest['chunking'];
  remove: string[];
  upsert: (ManifestEntry | FileEdit)[];
}

/**
 * A changed file whose chunk list is mostly its old one (an edit inside a large file): `edit`
 * lists new chunks as `[id, size]` and runs of the base entry's chunks as `[first, count]`, in
 * file order. A 200 MB file's entry is 3,200 chunk ids (112 KB gzipped); after a 4 KB insertion
 * its edit is one new chunk and one run.
 */
interface FileEdit {
  type: 'file';
  path: string;
  mode: number;
  size: number;
  edit: ([ChunkId, number] | [number, number])[];
}

/** The entries of `next` that differ from `base`, and the paths `next` no longer has. */
export function diffManifest(base: Manifest, baseId: ReleaseId, next: Manifest): ManifestDelta {
  const upsert: (ManifestEntry | FileEdit)[] = [];
  const changed = (was: ManifestEntry | undefined, e: ManifestEntry) => {
    if (was !== e && (!was || !sameEntry(was, e)))
      upsert.push(was?.type === 'file' && e.type === 'file' ? editOf(was, e) : e);
  };
  const delta = (remove: string[]) => ({
    base: baseId,
    version: next.version,
    chunking: next.chunking,
    remove,
    upsert,
  });
  // The same paths in the same places (files edited, none added or removed): compared pairwise,
  // without a map of 20,000 paths. Entries the chunk ledger kept are the base's own objects.
  if (base.entries.length === next.entries.length && samePaths(base.entries, next.entries)) {
    if (base.entries !== next.entries)
      for (let i = 0; i < next.entries.length; i++) changed(base.entries[i], next.entries[i]!);
    return delta([]);
  }
  const old = new Map<string, ManifestEntry>();
  for (const e of base.entries) old.set(e.path, e);
  for (const e of next.entries) {
    changed(old.get(e.path), e);
    old.delete(e.path);
  }
  return delta([...old.keys()]);
}

/** Whether two entry lists name the same paths in the same order. */
function samePaths(a: readonly ManifestEntry[], b: readonly ManifestEntry[]): boolean {
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && a[i]!.path !== b[i]!.path) return false;
  return true;
}

/** `e` as an edit of `was` when that is shorter (a few runs of old chunks), else `e` itself. */
function editOf(
  was: ManifestEntry & { type: 'file' },
  e: ManifestEntry & { type: 'file' },
): ManifestEntry | FileEdit {
  if (was.chunks.length < 8) return e;
  const at = new Map<ChunkId, number>();
  was.chunks.forEach(([id], i) => {
    if (!at.has(id)) at.set(id, i);
  });
  const edit: FileEdit['edit'] = [];
  for (let j = 0; j < e.chunks.length; ) {
    const c = e.chunks[j]!;
    const i = at.get(c[0]);
    if (i === undefined || was.chunks[i]![1] !== c[1]) {
      edit.push(c);
      j++;
      continue;
    }
    let n = 1;
    while (
      j + n < e.chunks.length &&
      i + n < was.chunks.length &&
      was.chunks[i + n]![0] === e.chunks[j + n]![0] &&
      was.chunks[i + n]![1] === e.chunks[j + n]![1]
    )
      n++;
    edit.push([i, n]);
    j += n;
  }
  if (edit.length * 2 > e.chunks.length) return e;
  return { type: 'file', path: e.path, mode: e.mode, size: e.size, edit };
}

/** The chunk list of an edit entry against the base's entry at its path, or an error. */
function applyEdit(was: unknown, edit: unknown): Result<[unknown, unknown][], string> {
  const old =
    (was as { type?: unknown; chunks?: unknown } | undefined)?.type === 'file'
      ? (was as { chunks: unknown }).chunks
      : undefined;
  if (!Array.isArray(old) || !Array.isArray(edit))
    return err('manifest delta edits a file the base release lacks');
  const chunks: [unknown, unknown][] = [];
  for (const op of edit as unknown[]) {
    if (!Array.isArray(op) || op.length !== 2) return err('manifest delta edit malformed');
    const [a, b] = op as [unknown, unknown];
    if (typeof a === 'string') {
      chunks.push([a, b]);
      continue;
    }
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || (a as number) < 0 || (b as number) < 1)
      return err('manifest delta edit malformed');
    if ((a as number) + (b as number) > old.length)
      return err('manifest delta edit reaches past the base file');
    // The rebuilt manifest is validated as a whole afterwards; here only the shape matters.
    for (let k = a as number; k < (a as number) + (b as number); k++)
      chunks.push(old[k] as [unknown, unknown]);
  }
  return ok(chunks);
}

/**
 * Rebuilds a manifest from `base` and a delta (untrusted: the result still goes through
 * validateManifest). Entries come out in the order the artifact walk writes them: depth first,
 * names sorted, each folder before its contents.
 */
export function applyManifestDelta(
  base: Manifest,
  delta: Pick<ManifestDelta, 'version' | 'chunking' | 'remove'> & { upsert: unknown[] },
): Result<unknown, string> {
  // Nothing changed (an unchanged artifact under a new version): the base's own list, whose
  // acceptance and JSON the checks and the release id reuse (manifest.ts).
  if (delta.remove.length === 0 && delta.upsert.length === 0)
    return ok({ format: 1, version: delta.version, chunking: delta.chunking, entries: base.entries });
  if (delta.remove.length === 0) {
    const inPlace = replacedInPlace(base, delta.upsert);
    if (!inPlace.ok) return inPlace;
    if (inPlace.value)
      return ok({ format: 1, version: delta.version, chunking: delta.chunking, entries: inPlace.value });
  }
  const byPath = new Map<string, unknown>();
  for (const e of base.entries) byPath.set(e.path, e);
  for (const p of delta.remove) {
    if (!byPath.delete(p))
      return err(`manifest delta removes ${JSON.stringify(p)}, which the base release lacks`);
  }
  let added = false;
  for (const e of delta.upsert) {
    const p = (e as { path?: unknown } | null)?.path;
    if (typeof p !== 'string') return err('manifest delta entry without a path');
    if (!byPath.has(p)) added = true;
    const edit = (e as { edit?: unknown }).edit;
    if (edit === undefined) {
      byPath.set(p, e);
      continue;
    }
    const chunks = applyEdit(byPath.get(p), edit);
    if (!chunks.ok) return chunks;
    const { edit: _, ...rest } = e as Record<string, unknown>;
    byPath.set(p, { ...rest, chunks: chunks.value });
  }
  // No new path: the base's order (already the walk's) still holds, and sorting 20,000 paths
  // segment by segment costs a tenth of a second.
  const paths = added ? [...byPath.keys()].sort(walkOrder) : [...byPath.keys()];
  return ok({
    format: 1,
    version: delta.version,
    chunking: delta.chunking,
    entries: paths.map((p) => byPath.get(p)),
  });
}

/**
 * The entries of a delta that removes nothing, when every path it upserts is the base's: each
 * taken in its base entry's place, the base's order kept. A map of the upserted paths alone (an
 * edit of 10% of 20,000 files: 2,000), where the general rebuild maps the base's 20,000 paths and
 * lists them again (12-60 ms of the agent's main thread in CPU profiles of that edit). Null when
 * some path is new or upserted twice (the caller then rebuilds in general); an error as
 * applyManifestDelta's.
 */
function replacedInPlace(base: Manifest, upsert: unknown[]): Result<unknown[] | null, string> {
  const up = new Map<string, unknown>();
  for (const e of upsert) {
    const p = (e as { path?: unknown } | null)?.path;
    if (typeof p !== 'string') return err('manifest delta entry without a path');
    // A path upserted twice (an edit may then apply to the first): left to the general rebuild.
    if (up.has(p)) return ok(null);
    up.set(p, e);
  }
  const entries: unknown[] = base.entries.slice();
  let found = 0;
  for (let i = 0; i < entries.length; i++) {
    const was = base.entries[i]!;
    const e = up.get(was.path);
    if (e === undefined) continue;
    found++;
    const edit = (e as { edit?: unknown }).edit;
    if (edit === undefined) {
      entries[i] = e;
      continue;
    }
    const chunks = applyEdit(was, edit);
    if (!chunks.ok) return chunks;
    const { edit: _, ...rest } = e as Record<string, unknown>;
    entries[i] = { ...rest, chunks: chunks.value };
  }
  return ok(found === up.size ? entries : null);
}

/** Depth-first order with sorted names: compare segment by segment, a parent before its children. */
function walkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

/**
 * For each chunk of `next` that `base` lacks, the chunks of `base` that held the same bytes of the
 * same file (those overlapping its offsets): an edit inside a chunk then travels as a delta
 * against the old ones. Only bases worth a delta (wire-delta.ts) are named.
 */
export function chunkBases(base: Manifest, next: Manifest, minBase: number): Record<ChunkId, ChunkId[]> {
  const out: Record<ChunkId, ChunkId[]> = {};
  if (base.entries === next.entries) return out;
  // Each path's old chunks: the base's entry at the same place when it has the same path (the
  // walk's order is stable), else from a map built only then.
  let before: Map<string, [ChunkId, number][]> | undefined;
  const oldChunks = (e: ManifestEntry, i: number) => {
    const at = base.entries[i];
    if (at === e) return undefined;
    if (at?.path === e.path) return at.type === 'file' ? at.chunks : undefined;
    if (!before) {
      before = new Map();
      for (const x of base.entries) if (x.type === 'file') before.set(x.path, x.chunks);
    }
    return before.get(e.path);
  };
  // Every chunk of the base, gathered only once some file's chunks differ from its old ones.
  let had: Map<ChunkId, number> | undefined;
  for (const [i, e] of next.entries.entries()) {
    if (e.type !== 'file') continue;
    const old = oldChunks(e, i);
    // The same list (a file the ledger kept) has no new chunk.
    if (!old?.length || old === e.chunks) continue;
    had ??= chunksOf(base);
    let at = 0;
    let j = 0;
    let oldAt = 0;
    for (const [id, size] of e.chunks) {
      if (!had.has(id)) {
        // Skip old chunks that end before this one starts; take those that start before it ends.
        while (j < old.length - 1 && oldAt + old[j]![1] <= at) oldAt += old[j++]![1];
        const picked: ChunkId[] = [];
        let bytes = 0;
        for (
          let k = j, o = oldAt;
          k < old.length && o < at + size && picked.length < 8;
          o += old[k]![1], k++
        ) {
          picked.push(old[k]![0]);
          bytes += old[k]![1];
        }
        if (bytes >= minBase) out[id] = picked;
      }
      at += size;
    }
  }
  return out;
}
