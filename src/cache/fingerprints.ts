/**
 * Git-compatible blob ids for files git cannot vouch for (dirty, untracked, outside a repository),
 * remembered by stat record (state/stat-record.ts) so an unchanged file is read once, not once per run.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { writeAtomicSync } from '../state/atomic-write.js';
import { isRacyRecord, statRecord } from '../state/stat-record.js';

export type HashAlgo = 'sha1' | 'sha256';

/** The id git would give these bytes as a blob, so our ids equal git's for clean files. */
export function blobId(algo: HashAlgo, content: Buffer | string): string {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  return createHash(algo).update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

/** [stat record, id] */
type Entry = [string, string];

/** Entries keyed by stat record (v2); older files are ignored. */
const FORMAT = 2;

/** The file-type bits of a stat record's mode. */
const typeOf = (record: string): number => Number.parseInt(record.split(' ', 5)[4] ?? '0', 16) & 0o170000;
const FILE = 0o100000;
const SYMLINK = 0o120000;

export class FingerprintCache {
  #entries: Record<string, Entry> | undefined;
  #dirty = false;
  /** Every path asked about this run, with its stat record when asked: what the ids depend on. */
  readonly reads = new Map<string, string>();

  constructor(
    private readonly file: string,
    readonly algo: HashAlgo = 'sha1',
  ) {}

  #load(): Record<string, Entry> {
    if (this.#entries) return this.#entries;
    try {
      const data = JSON.parse(readFileSync(this.file, 'utf8')) as {
        v?: number;
        algo?: string;
        files?: Record<string, Entry>;
      };
      this.#entries = data.v === FORMAT && data.algo === this.algo && data.files ? data.files : {};
    } catch {
      this.#entries = {};
    }
    return this.#entries;
  }

  /** The blob id of `abs` (a symlink hashes its target text, as git does); undefined when absent. */
  hash(abs: string): string | undefined {
    const record = statRecord(abs);
    this.reads.set(abs, record);
    const type = typeOf(record);
    if (type !== FILE && type !== SYMLINK) return undefined;
    const entries = this.#load();
    const prev = entries[abs];
    if (prev && prev[0] === record) return prev[1];
    let id: string;
    try {
      id = blobId(this.algo, type === SYMLINK ? readlinkSync(abs) : readFileSync(abs));
    } catch {
      return undefined;
    }
    if (!isRacyRecord(record)) {
      entries[abs] = [record, id];
      this.#dirty = true;
    }
    return id;
  }

  /** Writes the cache back (temp name + rename) when something new was learned. */
  save(): void {
    if (!this.#dirty || !this.#entries) return;
    writeAtomicSync(this.file, JSON.stringify({ v: FORMAT, algo: this.algo, files: this.#entries }));
    this.#dirty = false;
  }
}
