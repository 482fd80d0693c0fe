/**
 * How a staging's files stand against the kept releases (stager.ts): a file a kept release has as
 * it is (same content, as recorded at that release's assembly) is linked, during the fetch where
 * it can be (link-ahead.ts); one with an earlier version of itself is written from it
 * (file-from-base.ts); the rest are written from chunks as they arrive.
 */
import type { Manifest, ManifestEntry } from '../manifest.js';
import type { ReleaseId } from '../types.js';
import type { BaseFile } from './file-from-base.js';
import type { FileIndex } from './file-index.js';
import type { LinkJob } from './link-ahead.js';

type FileEntry = Extract<ManifestEntry, { type: 'file' }>;

export interface KeptMatches {
  /** Paths not written from chunks: linked, or written from an earlier version. */
  elsewhere: Set<string>;
  /** Files a kept release has as they are, as recorded there. */
  same: LinkJob[];
  /** Files with an earlier version in a kept release. */
  based: { e: FileEntry; base: BaseFile }[];
}

/** Sorts `files` by what the kept `releases` have of them (none kept: all from chunks). */
export async function matchKept(
  files: readonly FileEntry[],
  index: FileIndex,
  releases: Map<ReleaseId, Manifest>,
): Promise<KeptMatches> {
  const m: KeptMatches = { elsewhere: new Set(), same: [], based: [] };
  if (releases.size === 0) return m;
  for (const e of files) {
    // Not stat'ed here: the links check each file right before it is linked, and it is written
    // should the app have changed it meanwhile (one stat per file, not two). A promise only until
    // a release's stats are read: not 20,000 awaits, nor a second lookup per file for the links.
    let rec = index.recorded(e, releases);
    if (rec instanceof Promise) rec = await rec;
    if (rec) {
      m.elsewhere.add(e.path);
      m.same.push({
        rel: e.path,
        from: rec.dir,
        fromRel: rec.rel,
        size: rec.size,
        mtimeMs: rec.mtimeMs,
        mode: e.mode,
      });
      continue;
    }
    const base = await index.previous(e, releases);
    if (!base) continue;
    m.elsewhere.add(e.path);
    m.based.push({ e, base });
  }
  return m;
}
