/**
 * The release manifest: every path of an artifact with its mode, symlink target or chunk list.
 * Agents refuse any manifest that could write outside the release folder; one received entry by
 * entry is checked by the same rules in manifest-lines.ts.
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../util/result.js';
import { firstEscapingLink, linkProblemText } from '../util/symlink-target.js';
import { type ChunkingParams, checkParams } from './fastcdc.js';
import { type ChunkId, isChunkId, type ReleaseId } from './types.js';

export type ManifestEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; size: number; chunks: [ChunkId, number][] }
  | { type: 'symlink'; path: string; target: string };

export interface Manifest {
  format: 1;
  version: string;
  chunking: ChunkingParams;
  /** Sorted by path; parents before children. */
  entries: ManifestEntry[];
}

/** Largest number of entries an agent accepts in one manifest. */
export const MAX_ENTRIES = 1_000_000;

/**
 * Entries lists whose JSON text is known (exactly `JSON.stringify(entries)`): the chunk ledger
 * read it, so the release id of an unchanged artifact's manifest hashes that text instead of
 * serializing 20,000 entries again. Entries are never changed once made.
 */
const entriesJson = new WeakMap<readonly ManifestEntry[], string>();

/** Tells the digest that `json` is `JSON.stringify(entries)` (the caller vouches for it). */
export function knownEntriesJson(entries: readonly ManifestEntry[], json: string): void {
  entriesJson.set(entries, json);
}

/** `JSON.stringify(entries)`, made once per list and known from then on (kept while the list lives). */
export function entriesJsonOf(entries: readonly ManifestEntry[]): string {
  let json = entriesJson.get(entries);
  if (json === undefined) {
    json = JSON.stringify(entries);
    entriesJson.set(entries, json);
  }
  return json;
}

/**
 * The canonical JSON of a manifest (its four fields in order, nothing else): what its digest
 * hashes and what an agent writes to disk. Serializing 20,000 entries is skipped when their JSON
 * is known. With `remember`, it becomes known, kept while the list lives: a twin's list (the
 * kept release's own) is hashed again at each unchanged redeploy. Not by default: 3 MB of text
 * per kept list raised the agent's peak by ~10 MB on edits, which never hash a list twice.
 */
export function manifestJson(m: Manifest, remember = false): string {
  const known = entriesJson.get(m.entries);
  if (known === undefined || typeof m.version !== 'string') {
    const text = JSON.stringify({
      format: m.format,
      version: m.version,
      chunking: m.chunking,
      entries: m.entries,
    });
    const head = manifestHead(m);
    if (remember && text.startsWith(head)) entriesJson.set(m.entries, text.slice(head.length, -1));
    return text;
  }
  return `${manifestHead(m)}${known}}`;
}

/**
 * Digests of the canonical JSON of manifests whose entries' JSON was hashed as it was made (a
 * streamed walk's, EntriesDigest), by entries list: with the text up to the list they follow.
 */
const digests = new WeakMap<readonly ManifestEntry[], { head: string; digest: string }>();

/**
 * SHA-256 of a manifest's canonical JSON taken as its entries come, each entry's JSON (exactly
 * `JSON.stringify(entry)`) in order: the release id of a streamed walk's 20,000 entries without
 * their JSON kept until the walk ends (3 MB of strings surviving its collections) and joined.
 */
export class EntriesDigest {
  readonly #head: string;
  readonly #hash = createHash('sha256');
  #count = 0;
  /** Entries' JSON not hashed yet, joined. */
  #pending = '';
  #done = false;

  constructor(m: Pick<Manifest, 'format' | 'version' | 'chunking'>) {
    this.#head = manifestHead(m);
    this.#hash.update(this.#head).update('[');
  }

  /** Entries taken so far. */
  get count(): number {
    return this.#count;
  }

  /** The next entry's JSON. */
  add(json: string): void {
    if (this.#done) return;
    this.#pending += this.#count++ ? `,${json}` : json;
    if (this.#pending.length >= 64 * 1024) this.#hashPending();
  }

  #hashPending(): void {
    this.#hash.update(this.#pending);
    this.#pending = '';
  }

  /**
   * Tells the digest (manifestDigest) of a manifest of `entries` (whose JSON, entry by entry,
   * was all that was added, in order; the caller vouches for it) the hash made; once only.
   */
  vouch(entries: readonly ManifestEntry[]): void {
    if (this.#done) return;
    this.#done = true;
    this.#hashPending();
    digests.set(entries, { head: this.#head, digest: this.#hash.update(']}').digest('hex') });
  }
}

/** The canonical JSON up to the entries' list. */
function manifestHead(m: Pick<Manifest, 'format' | 'version' | 'chunking'>): string {
  return `{"format":${JSON.stringify(m.format)},"version":${JSON.stringify(m.version)},"chunking":${JSON.stringify(m.chunking)},"entries":`;
}

/**
 * SHA-256 of the canonical JSON; the release id and integrity anchor of a release. With
 * `remember`, the entries' JSON is made alone and kept (the deployer saves it in its chunk ledger
 * next, instead of serializing 20,000 entries again).
 */
function manifestDigest(m: Manifest, remember: boolean): string {
  const streamed = digests.get(m.entries);
  if (streamed && typeof m.version === 'string' && streamed.head === manifestHead(m)) return streamed.digest;
  const known = remember ? entriesJsonOf(m.entries) : entriesJson.get(m.entries);
  if (known === undefined || typeof m.version !== 'string')
    return createHash('sha256')
      .update(
        JSON.stringify({ format: m.format, version: m.version, chunking: m.chunking, entries: m.entries }),
      )
      .digest('hex');
  // The same text as above, in pieces.
  return createHash('sha256').update(manifestHead(m)).update(known).update('}').digest('hex');
}

/** `<version>-<12 hex>`, with the version reduced to a folder-safe alphabet. */
export function releaseIdOf(m: Manifest, remember = false): ReleaseId {
  return releaseIdFrom(m.version, manifestDigest(m, remember));
}

/**
 * releaseIdOf for a manifest whose canonical JSON (manifestJson) the caller made already, to
 * write it too: 20,000 entries serialized once, not once for the id and again for the file.
 */
export function releaseIdOfJson(m: Manifest, json: string): ReleaseId {
  return releaseIdFrom(m.version, createHash('sha256').update(json).digest('hex'));
}

function releaseIdFrom(version: string, digest: string): ReleaseId {
  const slug =
    version
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/\.\.+/g, '_')
      .slice(0, 64) || 'release';
  const head = /^[A-Za-z0-9]/.test(slug) ? slug : `r${slug}`;
  return `${head}-${digest.slice(0, 12)}` as ReleaseId;
}

/** Whether two entries are the same path with the same content (compared field by field). */
export function sameEntry(x: ManifestEntry, y: ManifestEntry): boolean {
  if (x.type !== y.type || x.path !== y.path) return false;
  if (x.type === 'symlink') return x.target === (y as typeof x).target;
  if (x.mode !== (y as typeof x).mode) return false;
  if (x.type === 'dir') return true;
  const z = y as typeof x;
  if (x.size !== z.size || x.chunks.length !== z.chunks.length) return false;
  if (x.chunks === z.chunks) return true;
  return x.chunks.every((c, i) => c[0] === z.chunks[i]![0] && c[1] === z.chunks[i]![1]);
}

/** Every distinct chunk of a manifest with its size. */
export function chunksOf(m: Manifest): Map<ChunkId, number> {
  const out = new Map<ChunkId, number>();
  // Index loops: run once per deploy over 20,000 entries, mostly before being optimized, where
  // for-of and destructuring cost an iterator per entry and per chunk.
  const entries = m.entries;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.type !== 'file') continue;
    for (let j = 0; j < e.chunks.length; j++) out.set(e.chunks[j]![0], e.chunks[j]![1]);
  }
  return out;
}

/** How many distinct chunks a manifest's files hold and their bytes (`chunksOf`'s size and sum). */
export type ChunkTotals = { count: number; bytes: number };

/**
 * Totals per entries list, kept while the list lives: a twin's list is its kept release's own,
 * counted again at each unchanged redeploy. Lists are never changed once made (see entriesJson).
 */
const totalsOf = new WeakMap<readonly ManifestEntry[], ChunkTotals>();

/** chunksOf(m)'s size and the sum of its sizes, from `all` when the caller has it made. */
export function chunkTotals(m: Manifest, all?: Map<ChunkId, number>): ChunkTotals {
  const known = totalsOf.get(m.entries);
  if (known) return known;
  const chunks = all ?? chunksOf(m);
  let bytes = 0;
  for (const size of chunks.values()) bytes += size;
  const totals = { count: chunks.size, bytes };
  totalsOf.set(m.entries, totals);
  return totals;
}

/**
 * Why a relative path is unsafe, or undefined when it is a plain path inside the release:
 * POSIX separators, no absolute paths, no `.`/`..`/empty segments, no NUL or backslash.
 */
export function unsafePathReason(p: string): string | undefined {
  // Almost every path is plain: one pass over its characters, no segment list made.
  if (isPlainPath(p)) return undefined;
  if (typeof p !== 'string' || p.length === 0) return 'empty path';
  if (p.length > 4096) return 'path longer than 4096 characters';
  if (p.includes('\0')) return 'path contains a NUL byte';
  if (p.includes('\\')) return 'path contains a backslash';
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'absolute path';
  for (const seg of p.split('/')) {
    if (seg === '..') return 'path climbs out with ".."';
    if (seg === '' || seg === '.') return 'path has an empty or "." segment';
  }
  return undefined;
}

/**
 * Whether `p` is a path unsafePathReason finds nothing wrong with, in one pass over its characters
 * (20,000 paths per manifest, and the outline of a first release before it): not empty, at most
 * 4096 characters, no NUL or backslash, not absolute (no leading `/`, no drive letter), no empty,
 * `.` or `..` segment. False for anything else, for unsafePathReason to say why.
 */
function isPlainPath(p: string): boolean {
  if (typeof p !== 'string') return false;
  const n = p.length;
  if (n === 0 || n > 4096) return false;
  // A drive letter ("C:..."): absolute.
  if (n >= 2 && p.charCodeAt(1) === 58 /* : */) {
    const c = p.charCodeAt(0) | 0x20;
    if (c >= 97 && c <= 122) return false;
  }
  // Where the current segment starts.
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? p.charCodeAt(i) : 47; /* the end closes the last segment like a "/" */
    if (c === 0 || c === 92 /* \ */) return false;
    if (c !== 47 /* / */) continue;
    const len = i - start;
    // Empty (also a leading "/"), "." or "..".
    if (len === 0) return false;
    if (p.charCodeAt(start) === 46 /* . */ && (len === 1 || (len === 2 && p.charCodeAt(start + 1) === 46)))
      return false;
    start = i + 1;
  }
  return true;
}

/**
 * The folder of a path unsafePathReason accepts (path.posix.dirname's answer for such a path,
 * without its normalizing): "." at the top.
 */
export function parentOf(p: string): string {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? '.' : p.slice(0, slash);
}

/** The first symlink of the entries whose target, followed the kernel's way, leaves the root. */
export function escapingSymlink(entries: readonly ManifestEntry[], where = 'release'): string | undefined {
  const links = new Map<string, string>();
  for (const e of entries) if (e.type === 'symlink') links.set(e.path, e.target);
  const bad = firstEscapingLink(links);
  if (!bad) return undefined;
  return `refused symlink ${JSON.stringify(bad.path)} -> ${JSON.stringify(bad.target)}: it ${linkProblemText(bad.problem, where)}`;
}

/** Checks an untrusted manifest (from the network) and returns it typed, or the first problem. */
export function validateManifest(
  input: unknown,
  limits = { maxEntries: MAX_ENTRIES },
): Result<Manifest, string> {
  if (input === null || typeof input !== 'object') return err('manifest must be an object');
  const m = input as Record<string, unknown>;
  if (accepted.has(input) && (m.entries as unknown[]).length <= limits.maxEntries)
    return ok(input as Manifest);
  if (m.format !== 1) return err(`unsupported manifest format ${JSON.stringify(m.format)}`);
  if (typeof m.version !== 'string' || m.version.length === 0 || m.version.length > 200) {
    return err('manifest version must be a non-empty string of at most 200 characters');
  }
  const c = m.chunking as ChunkingParams | undefined;
  if (!c || typeof c !== 'object') return err('manifest chunking parameters missing');
  const bad = checkParams(c);
  if (bad) return err(`manifest chunking: ${bad}`);
  if (!Array.isArray(m.entries)) return err('manifest entries must be a list');
  if (m.entries.length > limits.maxEntries) return err(`manifest has more than ${limits.maxEntries} entries`);
  // The list of a manifest accepted before (an unchanged release's delta rebuilds its base's
  // list as it is): checked as a whole already, under that chunk limit or a smaller one.
  const listMax = acceptedLists.get(m.entries);
  if (listMax !== undefined && listMax <= c.max) {
    accepted.add(input);
    return ok(input as Manifest);
  }

  const kinds = new Map<string, ManifestEntry['type']>();
  for (const raw of m.entries as unknown[]) {
    const bad = checkEntry(raw, c.max, kinds);
    if (bad) return err(bad);
  }
  const escaping = escapingSymlink(m.entries as ManifestEntry[]);
  if (escaping) return err(escaping);
  markAccepted(input as Manifest);
  return ok(input as Manifest);
}

/**
 * Notes a manifest checked whole as accepted (see `accepted` below): validateManifest's, or one
 * received entry by entry (manifest-lines.ts).
 */
export function markAccepted(m: Manifest): void {
  accepted.add(m);
  for (const e of m.entries) acceptedEntries.set(e, m.chunking.max);
  const before = acceptedLists.get(m.entries);
  if (before === undefined || m.chunking.max < before) acceptedLists.set(m.entries, m.chunking.max);
}

/**
 * Checks one entry where it stands (after those `kinds` lists, by path): a safe path, not listed
 * before, below a folder listed before (never below a symlink), a known type with a valid mode,
 * and for a file chunks that add up to its size, none past `maxChunk`. Where symlinks lead is
 * checked once every entry is known (escapingSymlink). Notes the entry in `kinds`.
 */
export function checkEntry(
  raw: unknown,
  maxChunk: number,
  kinds: Map<string, ManifestEntry['type']>,
): string | undefined {
  const e = raw as Record<string, unknown>;
  if (!e || typeof e !== 'object') return 'manifest entry must be an object';
  const p = e.path as string;
  // An entry of a manifest accepted before (one rebuilt from a delta shares its base's) is
  // checked on its own already; where it stands is checked below like any other's.
  const checkedMax = acceptedEntries.get(e);
  const checked = checkedMax !== undefined && checkedMax <= maxChunk;
  const why = checked ? undefined : unsafePathReason(p);
  if (why) return `refused path ${JSON.stringify(p)}: ${why}`;
  if (kinds.has(p)) return `duplicate path ${JSON.stringify(p)}`;
  // A path below a symlink would be written through the link, wherever it points.
  const parent = parentOf(p);
  if (parent !== '.' && kinds.get(parent) !== 'dir')
    return `path ${JSON.stringify(p)} must come after its parent folder ${JSON.stringify(parent)}`;
  if (checked) {
    kinds.set(p, e.type as ManifestEntry['type']);
    return undefined;
  }
  switch (e.type) {
    case 'dir':
      if (!isMode(e.mode)) return `bad mode for ${JSON.stringify(p)}`;
      break;
    case 'symlink':
      // Where it leads is checked once every link is known (a target may pass through another).
      if (typeof e.target !== 'string') return `symlink ${JSON.stringify(p)} has no target`;
      break;
    case 'file': {
      if (!isMode(e.mode)) return `bad mode for ${JSON.stringify(p)}`;
      if (!Array.isArray(e.chunks) || !Number.isSafeInteger(e.size) || (e.size as number) < 0)
        return `bad size or chunk list for ${JSON.stringify(p)}`;
      let sum = 0;
      for (const ch of e.chunks as unknown[]) {
        if (!Array.isArray(ch) || ch.length !== 2 || !isChunkId(ch[0]))
          return `bad chunk in ${JSON.stringify(p)}`;
        const size = ch[1] as number;
        if (!Number.isInteger(size) || size <= 0 || size > maxChunk)
          return `bad chunk size in ${JSON.stringify(p)}`;
        sum += size;
      }
      if (sum !== e.size) return `chunk sizes of ${JSON.stringify(p)} do not add up to its size`;
      break;
    }
    default:
      return `unknown entry type ${JSON.stringify(e.type)} for ${JSON.stringify(p)}`;
  }
  kinds.set(p, e.type);
  return undefined;
}

/**
 * Manifests this process has already accepted, so one checked at the agent's door is not walked
 * again when staging starts (20,000 entries cost ~60 ms each time). Nothing changes a manifest
 * after its check (deltas build new ones), so the object accepted is still the one checked.
 */
const accepted = new WeakSet<object>();

/**
 * Entries of accepted manifests, each with the largest chunk size its manifest allowed: valid
 * under that maximum or a larger one, checked again under a smaller. Entries are never changed
 * either.
 */
const acceptedEntries = new WeakMap<object, number>();

/** Entry lists of accepted manifests, with the smallest chunk limit each was accepted under. */
const acceptedLists = new WeakMap<object, number>();

function isMode(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0o7777;
}
