/** Turns an artifact folder into a manifest and an index of where each chunk's bytes live. */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { err, ok, type Result } from '../util/result.js';
import { type ChunkLedger, ledgerRecord } from './chunk-ledger.js';
import { type ChunkingParams, chunkBuffer, chunkIdOf, cutLength, DEFAULT_CHUNKING } from './fastcdc.js';
import { FileWindow } from './file-window.js';
import { escapingSymlink, type Manifest, type ManifestEntry } from './manifest.js';
import { rechunkFile } from './rechunk.js';
import type { ChunkId } from './types.js';

/** Where a chunk's bytes are in the artifact folder. */
export interface ChunkSource {
  file: string;
  offset: number;
  size: number;
}

export interface Artifact {
  root: string;
  manifest: Manifest;
  chunks: Map<ChunkId, ChunkSource>;
  files: number;
  bytes: number;
  /** Files read and chunked (the rest kept their chunks from the ledger). */
  reread: number;
  /** Wall time spent reading, chunking and hashing. */
  chunkMs: number;
}

/** Chunk boundaries and ids of one file, read in large blocks through one reused buffer. */
export async function chunkFile(
  file: string,
  params: ChunkingParams = DEFAULT_CHUNKING,
  buffer: Buffer = Buffer.allocUnsafe(Math.max(2 * 1024 * 1024, params.max * 4)),
): Promise<{ chunks: [ChunkId, number][]; size: number }> {
  const fh = await open(file, 'r');
  const chunks: [ChunkId, number][] = [];
  let size = 0;
  try {
    const w = new FileWindow(fh, buffer);
    for (;;) {
      if (!w.eof && w.end - w.start < params.max) await w.fill();
      if (w.start >= w.end) break;
      while (w.end - w.start >= params.max || (w.eof && w.start < w.end)) {
        const n = cutLength(buffer, w.start, w.end, params);
        chunks.push([chunkIdOf(buffer.subarray(w.start, w.start + n)), n]);
        w.start += n;
        size += n;
      }
    }
  } finally {
    await fh.close();
  }
  return { chunks, size };
}

/** An entry of the artifact as listed, before any file is read. */
type Listed =
  | { kind: 'dir'; full: string; relPath: string; mode: number }
  | { kind: 'symlink'; full: string; relPath: string; mode: number }
  | { kind: 'file'; full: string; relPath: string; mode: number; size: number; record: string; dev: number };

/** With an outline listener, the reading yields to the event loop after this much work. */
const YIELD_MS = 15;

/** Files up to this size are read whole and chunked in memory; larger ones stream through a buffer. */
const WHOLE = 4 * 1024 * 1024;

/**
 * Scans and chunks an artifact folder; refuses symlinks that leave it and special files. With a
 * ledger, files whose stat is unchanged since the last deploy keep their recorded chunks unread.
 */
export async function readArtifact(
  root: string,
  version: string,
  params: ChunkingParams = DEFAULT_CHUNKING,
  opts: {
    ledger?: ChunkLedger;
    /**
     * Hears the artifact's outline (agent/prepared-tree.ts) once its folders are listed and
     * before any file is read; the reading then yields to the event loop now and then, so that
     * what this starts (requests to agents) goes on meanwhile.
     */
    onOutline?: (outline: string[]) => void;
  } = {},
): Promise<Result<Artifact, string>> {
  const t0 = performance.now();
  const abs = path.resolve(root);
  const st = await lstat(abs).catch(() => undefined);
  if (!st?.isDirectory()) return err(`artifact folder ${root} does not exist or is not a folder`);
  const { ledger } = opts;
  ledger?.begin();
  const entries: ManifestEntry[] = [];
  const chunks = new Map<ChunkId, ChunkSource>();
  let buffer: Buffer | undefined;
  let files = 0;
  let bytes = 0;
  let reread = 0;

  // Stats on the calling thread: tens of thousands of lstat calls cost milliseconds this way and
  // seconds as one thread-pool round trip each. Reads of changed files stay asynchronous.
  // First the listing (every folder, in manifest order), then the files' contents.
  // Lean (no Stats objects kept: 20,000 of them are tens of megabytes of BigInts).
  const listed: Listed[] = [];
  function list(dir: string, rel: string): string | undefined {
    const names = readdirSync(dir).sort();
    // Joined by hand: `dir` is absolute and normalized, a name has no separator, and
    // path.join's normalization of every one of 20,000 paths is a tenth of the walk's CPU.
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const name of names) {
      const full = prefix + name;
      const relPath = rel ? `${rel}/${name}` : name;
      const s = lstatSync(full);
      const kind = s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : undefined;
      if (!kind) return `${relPath} is neither a file, a folder nor a symlink`;
      const mode = s.mode & 0o777;
      listed.push(
        kind === 'file'
          ? { kind, full, relPath, mode, size: s.size, record: ledgerRecord(full, s), dev: s.dev }
          : { kind, full, relPath, mode },
      );
      if (kind === 'dir') {
        const bad = list(full, relPath);
        if (bad) return bad;
      }
    }
    return undefined;
  }

  async function walk(): Promise<string | undefined> {
    const unlisted = list(abs, '');
    if (unlisted) return unlisted;
    if (opts.onOutline) {
      const outline: string[] = [];
      for (const l of listed)
        if (l.kind === 'dir') outline.push(`${l.relPath}/`);
        else if (l.kind === 'file') outline.push(l.relPath);
      opts.onOutline(outline);
    }
    let turn = performance.now();
    for (const l of listed) {
      const { full, relPath } = l;
      if (opts.onOutline && performance.now() - turn > YIELD_MS) {
        await yieldLoop();
        turn = performance.now();
      }
      if (l.kind === 'dir') {
        entries.push({ type: 'dir', path: relPath, mode: l.mode });
      } else if (l.kind === 'symlink') {
        entries.push({ type: 'symlink', path: relPath, target: readlinkSync(full) });
      } else {
        const { record, size: fileSize } = l;
        let list = ledger?.lookup(relPath, record, l.dev);
        let size = list?.reduce((n, c) => n + c[1], 0) ?? -1;
        if (!list || size !== fileSize) {
          reread++;
          if (fileSize <= WHOLE) {
            const data = readFileSync(full);
            list = chunkBuffer(data, params).map((c) => [c.id, c.size]);
            size = data.length;
          } else {
            buffer ??= Buffer.allocUnsafe(Math.max(2 * 1024 * 1024, params.max * 4));
            // A large file chunked before: its unchanged chunks are checked, not scanned again.
            const before = ledger?.previous(relPath);
            ({ chunks: list, size } = before?.length
              ? await rechunkFile(full, before, params, buffer)
              : await chunkFile(full, params, buffer));
          }
        }
        ledger?.record(record);
        let offset = 0;
        for (const [id, n] of list) {
          if (!chunks.has(id)) chunks.set(id, { file: full, offset, size: n });
          offset += n;
        }
        entries.push({ type: 'file', path: relPath, mode: l.mode, size, chunks: list });
        files++;
        bytes += size;
      }
    }
    return undefined;
  }

  const bad = (await walk()) ?? escapingSymlink(entries, 'artifact');
  if (bad) return err(bad);
  const manifest: Manifest = { format: 1, version, chunking: params, entries };
  return ok({ root: abs, manifest, chunks, files, bytes, reread, chunkMs: performance.now() - t0 });
}
