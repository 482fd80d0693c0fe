/** Turns an artifact folder into a manifest and an index of where each chunk's bytes live. */
import { closeSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep, setImmediate as yieldLoop } from 'node:timers/promises';
import { lstatNumbers, type StatNumbers } from '../util/lstat-numbers.js';
import { err, ok, type Result } from '../util/result.js';
import { trace } from '../util/trace.js';
import { CdcPool } from './cdc-pool.js';
import { openListed, readWhole } from './chunk-file.js';
import { ChunkIndex } from './chunk-index.js';
import type { ChunkLedger } from './chunk-ledger.js';
import { fastHasher, joinFast } from './fast-hash.js';
import { type ChunkingParams, chunkBuffer, chunkIdOf, chunkingBuffer, DEFAULT_CHUNKING } from './fastcdc.js';
import { chunkLarge, coresToSpare, inSegments, largeBuffer, THREADS } from './large-chunks.js';
import { escapingSymlink, type Manifest, type ManifestEntry } from './manifest.js';
import type { RecentBytes } from './recent-bytes.js';
import { probeShift } from './shift-probe.js';
import type { ChunkId } from './types.js';

export interface Artifact {
  root: string;
  manifest: Manifest;
  /** Where each chunk lies, built when first asked. */
  chunks: ChunkIndex;
  files: number;
  bytes: number;
  /** Files read and chunked (the rest kept their chunks from the ledger). */
  reread: number;
  /** Wall time spent reading, chunking and hashing. */
  chunkMs: number;
}

/** A file of the artifact to read and chunk: where its entry stands in the manifest. */
interface ToRead {
  at: number;
  full: string;
  relPath: string;
  mode: number;
  size: number;
}

/** With an outline listener, the reading yields to the event loop after this much work. */
const YIELD_MS = 15;

/**
 * With a chunked-entries listener, sooner: an origin on this thread serves what was chunked
 * (stage-stream.ts) only while the reading yields.
 */
const STREAM_YIELD_MS = 4;

/** Files up to this size are read whole and chunked in memory; larger ones stream through a buffer. */
const WHOLE = 4 * 1024 * 1024;

/**
 * With onStart, the files listed after which the artifact is judged (onStart heard): a first
 * deploy of 20,000 small files spent 100-280 ms listing while its agents, who had nothing to do
 * until the stream's first entries, waited. A few hundred files tell an artifact of small files
 * (stage-stream.ts streamPays) as well as all of them.
 */
export const START_FILES = 256;

/**
 * Files from this size on, changed but as long as when last deployed, are named to the agents
 * before they are chunked (onLargeEdits): a 64 MB copy takes ~30 ms, while the walk chunks such a
 * file in ~60 ms. The same size is a guess that the edit was made in place. One whose length
 * changed is named with a shift instead (onLargeShift), once its bytes are found moved.
 */
const COPY_AHEAD_MIN = 64 * 1024 * 1024;

/**
 * Scans and chunks an artifact folder; refuses symlinks that leave it and special files. With a
 * ledger, files whose stat is unchanged since the last deploy keep their recorded entries unread,
 * and folders and symlinks as they were keep theirs too.
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
    onOutline?: (outline: () => string[]) => void;
    /**
     * Asked once the listing has gone far enough to judge the artifact (START_FILES files listed,
     * `complete` false; onChunked has heard the entries so far) and, unless it answered true then,
     * again once all are listed: from its true answer on, with onChunked, files up to WHOLE are read and
     * chunked as they are listed and heard of in onChunked at once, and the listing yields to the
     * event loop as the reading does (a streamed stage starts while the listing goes on, as
     * rsync's incremental recursion does). The outline still comes once the listing is done.
     */
    onStart?: (complete: boolean) => boolean;
    /**
     * Hears, in manifest order, that the first `ready` entries of `entries` are final (a streamed
     * stage sends them on, stage-stream.ts): after the listing, then after each file chunked. The
     * reading yields to the event loop now and then, as with onOutline, and sooner while the
     * listener answers true (something on this thread serves what was chunked).
     */
    onChunked?: (entries: readonly ManifestEntry[], ready: number) => boolean | undefined;
    /**
     * Hears a large file's chunk list as it grows while it is chunked on this thread: the file is
     * `entries[at]` (a streamed stage sends its chunks in parts before its entry is final).
     */
    onChunking?: (
      entries: readonly ManifestEntry[],
      at: number,
      chunks: readonly [ChunkId, number][],
    ) => void;
    /**
     * Asked once, where a file is large enough for segments on workers: whether to chunk on this
     * thread instead, so that its chunk list grows in order for onChunking (a host is streamed
     * its parts and needs the other core more than the walk does).
     */
    inParts?: () => Promise<boolean>;
    /**
     * Whether something on this thread awaits answers now (the hosts' first contact): the reading
     * then yields after every file. Each answer takes a few turns of the event loop (a
     * connection, a response, the stream's request); at YIELD_MS a host without releases began
     * its streamed stage 60-70 ms into the walk, a third of the way through the web build's 50
     * MB, its agent idle until then.
     */
    hurry?: () => boolean;
    /**
     * Hears the paths of large files changed in place (as long as when last deployed), once
     * listed and before any is read: agents copy their earlier versions meanwhile
     * (agent/copies-ahead.ts), the part of writing such a file that waits for nothing new.
     */
    onLargeEdits?: (paths: string[]) => void;
    /**
     * Hears a large file whose length changed, with where its bytes are found to have moved
     * (shift-probe.ts), soon after the listing and beside its chunking: agents copy its earlier
     * version so moved meanwhile (agent/copies-ahead.ts). Once per such file, if found.
     */
    onLargeShift?: (file: { path: string; at: number; from: number }) => void;
    /**
     * Where to keep the bytes of a file of one chunk as it is read, now (a streamed stage's
     * origin serves them from there, recent-bytes.ts); undefined: nowhere.
     */
    keep?: () => RecentBytes | undefined;
    /**
     * Whether the files read as listed (onStart) are so far ahead of their use that the reading
     * should wait (stage-stream.ts ahead): it then waits a millisecond at a time, the event loop
     * turning, until this answers false.
     */
    ahead?: () => boolean;
  } = {},
): Promise<Result<Artifact, string>> {
  const t0 = performance.now();
  const abs = path.resolve(root);
  const st = await lstat(abs).catch(() => undefined);
  if (!st?.isDirectory()) return err(`artifact folder ${root} does not exist or is not a folder`);
  const { ledger } = opts;
  ledger?.begin();
  let entries: ManifestEntry[] = [];
  /** Files up to WHOLE are read into this. */
  let whole: Buffer | undefined;
  let files = 0;
  let bytes = 0;
  /** Entries taken as they were from the ledger. */
  let kept = 0;

  // Stats on the calling thread: tens of thousands of lstat calls cost milliseconds this way and
  // seconds as one thread-pool round trip each. Reads of changed files stay asynchronous.
  // First the listing (every folder, in manifest order), then the changed files' contents. An
  // unchanged file costs its lstat and its path: no Stats kept, no record made per file (the
  // ledger compares and keeps numbers), its entry the ledger's own object.
  const toRead: ToRead[] = [];
  // Joined by hand: `abs` is absolute and normalized, a relative path has no '.' or '..', and
  // path.join's normalization of every one of 20,000 paths is a tenth of the walk's CPU.
  const rootPrefix = abs.endsWith(path.sep) ? abs : abs + path.sep;
  /** With onStart and onChunked: files chunked as listed (see onStart), once started. */
  let eager = false;
  let started = false;
  let askedEarly = false;
  let inline = 0;
  let listedFiles = 0;
  let turn = performance.now();
  let every = YIELD_MS;
  /** Where the chunked entries end: the first file to read later, else all listed so far. */
  const ready = () => toRead[0]?.at ?? entries.length;
  function start(complete: boolean): void {
    if (!opts.onStart || started) return;
    if (!complete) {
      if (askedEarly) return;
      askedEarly = true;
    }
    opts.onChunked?.(entries, ready());
    if (!opts.onStart(complete)) return;
    started = true;
    eager = opts.onChunked !== undefined;
    if (!eager || complete) return;
    // The files listed so far are chunked now too: the stream's entries are final only up to
    // the first file left to read (the larger ones stay for after the listing).
    const later = toRead.filter((f) => f.size > WHOLE);
    for (const f of toRead)
      if (f.size <= WHOLE) {
        const { chunks, size } = chunkSmall(f.full, f.size, f.at);
        bytes += size - f.size;
        inline++;
        entries[f.at] = { type: 'file', path: f.relPath, mode: f.mode, size, chunks };
      }
    toRead.splice(0, toRead.length, ...later);
  }
  async function list(dir: string, rel: string, st?: StatNumbers): Promise<string | undefined> {
    // A folder unchanged since the last walk has the entries the ledger lists for it, whose paths
    // are the ledger's own strings: a kept entry is then found by identity, no path built.
    let paths = st && ledger?.listing(rel, st);
    /** Whether paths[i] is listed as a regular file (its d_type), for a folder read while eager. */
    let regular: boolean[] | undefined;
    if (!paths && !eager)
      paths = readdirSync(dir)
        .sort()
        .map((name) => (rel ? `${rel}/${name}` : name));
    else if (!paths) {
      // The types asked for only when files are read as listed (openListed): where a filesystem
      // does not tell them, Node.js lstats each entry to learn them, which a walk that lstats
      // every path itself would then do twice.
      const listed = readdirSync(dir, { withFileTypes: true });
      // By name as a plain sort() orders strings (UTF-16 code units).
      listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      paths = [];
      regular = [];
      for (const d of listed) {
        paths.push(rel ? `${rel}/${d.name}` : d.name);
        regular.push(d.isFile());
      }
    }
    for (let i = 0; i < paths.length; i++) {
      const relPath = paths[i]!;
      const full = rootPrefix + relPath;
      // A file read as listed that the ledger does not know (a first deploy's): opened at once,
      // its stat the descriptor's, no lstat of its path besides (see openListed).
      const fd = eager && regular?.[i] && !ledger?.entry(relPath) ? openListed(full, WHOLE) : undefined;
      const s = fd === undefined ? lstatNumbers(full) : fd.st;
      const mode = s.mode & 0o777;
      if (s.isFile()) {
        files++;
        bytes += s.size;
        const was = fd === undefined ? ledger?.lookup(relPath, s) : undefined;
        ledger?.record(s);
        if (was) {
          kept++;
          entries.push(was);
        } else if (eager && s.size <= WHOLE) {
          let read: { chunks: [ChunkId, number][]; size: number };
          try {
            read = chunkSmall(fd?.fd ?? full, s.size, entries.length);
          } finally {
            if (fd) closeSync(fd.fd);
          }
          const { chunks, size } = read;
          bytes += size - s.size;
          inline++;
          entries.push({ type: 'file', path: relPath, mode, size, chunks });
        } else {
          toRead.push({ at: entries.length, full, relPath, mode, size: s.size });
          entries.push({ type: 'file', path: relPath, mode, size: s.size, chunks: [] });
        }
        if (!askedEarly && ++listedFiles >= START_FILES) start(false);
        if (eager) {
          if (opts.onChunked?.(entries, ready())) every = STREAM_YIELD_MS;
          if (opts.hurry?.() || performance.now() - turn > every) {
            await yieldLoop();
            while (opts.ahead?.()) await sleep(1);
            turn = performance.now();
          }
        }
      } else if (s.isDirectory()) {
        const was = ledger?.entry(relPath);
        if (was?.type === 'dir' && was.mode === mode) {
          kept++;
          entries.push(was);
        } else entries.push({ type: 'dir', path: relPath, mode });
        ledger?.record(s);
        const bad = await list(full, relPath, s);
        if (bad) return bad;
      } else if (s.isSymbolicLink()) {
        const target = readlinkSync(full);
        const was = ledger?.entry(relPath);
        if (was?.type === 'symlink' && was.target === target) {
          kept++;
          entries.push(was);
        } else entries.push({ type: 'symlink', path: relPath, target });
      } else return `${relPath} is neither a file, a folder nor a symlink`;
    }
    return undefined;
  }

  async function walk(): Promise<string | undefined> {
    const unlisted = await list(abs, '');
    if (unlisted) return unlisted;
    start(true);
    if (opts.onOutline) {
      // Folders and files: what a first release's tree is made of ahead (symlinks come later).
      // Made when asked: only an agent without releases wants it, and most deploys have none.
      const listed = entries;
      let outline: string[] | undefined;
      opts.onOutline(() => {
        if (outline) return outline;
        outline = [];
        for (const e of listed)
          if (e.type === 'dir') outline.push(`${e.path}/`);
          else if (e.type === 'file') outline.push(e.path);
        return outline;
      });
    }
    if (opts.onLargeEdits) {
      const edited: string[] = [];
      for (const f of toRead) {
        const was = f.size >= COPY_AHEAD_MIN ? ledger?.entry(f.relPath) : undefined;
        if (was?.type === 'file' && was.size === f.size) edited.push(f.relPath);
      }
      if (edited.length) opts.onLargeEdits(edited);
    }
    if (opts.onLargeShift) {
      const heard = opts.onLargeShift;
      for (const f of toRead) {
        const was = f.size >= COPY_AHEAD_MIN ? ledger?.entry(f.relPath) : undefined;
        const old = was?.type === 'file' && was.size !== f.size ? ledger?.previous(f.relPath) : undefined;
        // Not awaited: a few reads beside the chunking; nothing waits for it.
        if (old?.length)
          void probeShift(f.full, f.size, old).then((s) => {
            if (!s) return;
            trace(`${f.relPath}: its bytes from ${s.from} found at ${s.at}`);
            heard({ path: f.relPath, ...s });
          });
      }
    }
    // Workers only when a large file is to be chunked, started now so that their start-up overlaps
    // the chunking of the files before it.
    opts.onChunked?.(entries, ready());
    const segments = THREADS > 0 && toRead.some((f) => inSegments(f, ledger)) && coresToSpare();
    const pool = segments && !(await opts.inParts?.()) ? CdcPool.create(THREADS) : undefined;
    if (segments && !pool) trace('chunking on this thread alone: a host is streamed its parts');
    pool?.start();
    try {
      await readAll(pool);
    } finally {
      await pool?.close();
    }
    // Everything as it was: the ledger's own list, whose JSON is known (manifest.ts, ledger).
    const last = ledger?.last?.manifest.entries;
    if (last && kept === entries.length && kept === last.length) entries = last;
    return undefined;
  }

  /**
   * A file up to WHOLE, entries[at], read whole and chunked: its chunks and the bytes read.
   * `full`: its path, or a descriptor open on it (openListed), left open.
   */
  function chunkSmall(
    full: string | number,
    listed: number,
    at: number,
  ): { chunks: [ChunkId, number][]; size: number } {
    // A file of one chunk (no cut point to scan for) read straight into the ring, if it still
    // is of one chunk; one grown past its slot is read again below.
    const ring = listed <= params.min ? opts.keep?.() : undefined;
    const slot = ring?.slot(listed + 1);
    const kept = slot && readWhole(full, slot, listed);
    if (kept && kept.length <= params.min) {
      if (kept.length === 0) return { chunks: [], size: 0 };
      const id = chunkIdOf(kept);
      ring!.keep(at);
      return { chunks: [[id, kept.length]], size: kept.length };
    }
    whole ??= chunkingBuffer(WHOLE + 1);
    const data = readWhole(full, whole, listed) ?? readFileSync(full);
    return { chunks: chunkBuffer(data, params).map((c) => [c.id, c.size]), size: data.length };
  }

  async function readAll(pool: CdcPool | undefined): Promise<void> {
    turn = performance.now();
    const yields = opts.onOutline !== undefined || opts.onChunked !== undefined;
    // Fast hashes only where a ledger keeps them, and only of files chunked as a stream (larger
    // than WHOLE): the smaller ones are chunked whole again when changed, never confirmed.
    const seed = ledger?.fastSeed;
    const large = toRead.some((f) => f.size > WHOLE);
    const hasher = seed && large ? fastHasher(seed) : undefined;
    const buffer = large ? largeBuffer(params) : undefined;
    for (const [i, f] of toRead.entries()) {
      if (yields && (opts.hurry?.() || performance.now() - turn > every)) {
        await yieldLoop();
        turn = performance.now();
      }
      let list: [ChunkId, number][];
      let size: number;
      let fast: Uint8Array[] | undefined;
      if (f.size <= WHOLE) ({ chunks: list, size } = chunkSmall(f.full, f.size, f.at));
      else {
        const onChunking =
          opts.onChunking && ((c: readonly [ChunkId, number][]) => opts.onChunking?.(entries, f.at, c));
        ({
          chunks: list,
          size,
          fast,
        } = await chunkLarge(f, pool, { params, buffer: buffer!, ledger, hasher, onChunking }));
      }
      // The bytes read, not the size listed: what the chunks hold is what goes out.
      bytes += size - f.size;
      const entry: ManifestEntry = { type: 'file', path: f.relPath, mode: f.mode, size, chunks: list };
      entries[f.at] = entry;
      if (fast) ledger?.noteFast(entry, joinFast(fast));
      if (opts.onChunked?.(entries, toRead[i + 1]?.at ?? entries.length)) every = STREAM_YIELD_MS;
    }
  }

  const bad = (await walk()) ?? escapingSymlink(entries, 'artifact');
  if (bad) return err(bad);
  const manifest: Manifest = { format: 1, version, chunking: params, entries };
  const chunks = new ChunkIndex(abs.endsWith(path.sep) ? abs : abs + path.sep, entries);
  const reread = toRead.length + inline;
  return ok({ root: abs, manifest, chunks, files, bytes, reread, chunkMs: performance.now() - t0 });
}
