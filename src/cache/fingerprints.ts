/**
 * Git-compatible blob ids for files git cannot vouch for (dirty, untracked, outside a repository),
 * remembered by stat so an unchanged file is read once, not once per run.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { writeAtomicSync } from '../state/atomic-write.js';
import { isRacy } from '../state/racy.js';

export type HashAlgo = 'sha1' | 'sha256';

/** The id git would give these bytes as a blob, so our ids equal git's for clean files. */
export function blobId(algo: HashAlgo, content: Buffer | string): string {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return createHash(algo).update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

/** [size, mtimeMs, ctimeMs, ino, id] */
type Entry = [number, number, number, number, string];

/**
 * What `lstat` says of a path, as one comparable string ('-' when absent): a file whose signature
 * is unchanged still has the content it had (HashMemo relies on this, as git's index does).
 */
export function statSignature(abs: string): string {
  const st = lstatSync(abs, { throwIfNoEntry: false });
  return st ? signatureOf(st) : '-';
}

function signatureOf(st: Stats): string {
  return `${st.mode} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.ino}`;
}

/** Whether a signature's mtime is too recent to trust (state/racy.ts). */
export function isRacySignature(signature: string, now = Date.now()): boolean {
  const mtimeMs = Number(signature.split(' ')[2]);
  return Number.isFinite(mtimeMs) && isRacy(mtimeMs, now);
}

export class FingerprintCache {
  #entries: Record<string, Entry> | undefined;
  #dirty = false;
  /** Every path asked about this run, with its signature when asked: what the ids depend on. */
  readonly reads = new Map<string, string>();

  constructor(
    private readonly file: string,
    readonly algo: HashAlgo = 'sha1',
  ) {}

  #load(): Record<string, Entry> {
    if (this.#entries) return this.#entries;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as {
        algo?: string;
        files?: Record<string, Entry>;
      };
      this.#entries = data.algo === this.algo && data.files ? data.files : {};
    } catch {
      this.#entries = {};
    }
    return this.#entries;
  }

  /** The blob id of `abs` (a symlink hashes its target text, as git does); undefined when absent. */
  hash(abs: string): string | undefined {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(abs);
    } catch {
      this.reads.set(abs, '-');
      return undefined;
    }
    this.reads.set(abs, signatureOf(st));
    if (!st.isFile() && !st.isSymbolicLink()) return undefined;
    const entries = this.#load();
    const prev = entries[abs];
    if (
      prev &&
      prev[0] === st.size &&
      prev[1] === st.mtimeMs &&
      prev[2] === st.ctimeMs &&
      prev[3] === st.ino
    ) {
      return prev[4];
    }
    let id: string;
    try {
      id = blobId(this.algo, st.isSymbolicLink() ? readlinkSync(abs) : readFileSync(abs));
    } catch {
      return undefined;
    }
    if (!isRacy(st.mtimeMs)) {
      entries[abs] = [st.size, st.mtimeMs, st.ctimeMs, st.ino, id];
      this.#dirty = true;
    }
    return id;
  }

  /** Writes the cache back (temp name + rename) when something new was learned. */
  save(): void {
    if (!this.#dirty || !this.#entries) return;
    writeAtomicSync(this.file, JSON.stringify({ algo: this.algo, files: this.#entries }));
    this.#dirty = false;
  }
}
