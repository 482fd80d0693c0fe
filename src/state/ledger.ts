/**
 * The per-checkout ledger (`.slipway/ledger`): everything Slipway remembers about this working
 * tree between runs, in one file, read once and written by one atomic writer. It has three
 * sections, each owned and checked by one module:
 * - `pipeline`: the resolved pipeline and the stat records of what the loader read (config/snapshot.ts);
 * - `hashes`: the last run's task hashes and the world they were computed in (cache/hash-memo.ts);
 * - `outputs`: what each task's outputs looked like when last saved or restored (cache/output-state.ts),
 *   with their stat records as one text and the list of paths a child process stats at start-up.
 *
 * The ledger is only a shortcut. Every entry is checked against the file system before it is
 * believed, so a ledger that is absent, damaged or of another format reads as empty: the run is
 * slower, never wrong. A section that depends on the Slipway build (the snapshot, the memo's key)
 * says so itself; the output records do not, so an upgrade does not restore every output again.
 *
 * File format: one line of JSON (`{"v","json","list"}`, the last two lengths), then
 * the sections as JSON, then the NUL-separated output paths, then their stat records (lengths
 * count UTF-16 units, as the file is read and sliced as a string).
 */
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeAtomicSync } from './atomic-write.js';
import { ledgerFile, legacyStateFiles } from './paths.js';
import { isRacyRecord, recordOf, recordsByPath, statRecord } from './stat-record.js';

/** Bumped when the layout or a section's meaning changes: an older ledger then reads as empty. */
const VERSION = 1;

export type SectionName = 'pipeline' | 'hashes' | 'outputs';

interface Content {
  /** The sections as stored, parsed on first use (the start-up probe needs only `list`). */
  sections: Partial<Record<SectionName, unknown>> | string;
  /** NUL-separated paths of every output stat record (what the start-up probe stats). */
  list: string;
  /** The output stat records, concatenated in the order the `outputs` section gives. */
  text: string;
}

const EMPTY: Content = { sections: {}, list: '', text: '' };

export class Ledger {
  #content: Content;
  /** Sections this process changed: only these are written over what is on disk. */
  readonly #changed = new Set<SectionName>();

  private constructor(
    readonly file: string,
    content: Content,
  ) {
    this.#content = content;
  }

  /** The ledger of the checkout at `root`; empty when it is absent or unusable. Never throws. */
  static load(root: string): Ledger {
    const file = ledgerFile(root);
    return new Ledger(file, read(file));
  }

  /**
   * Reads and parses the ledger of `root` ahead of the command that will use it (the daemon's
   * spare, while it waits); `LedgerAhead.take` checks it is still the file on disk.
   */
  static ahead(root: string): LedgerAhead {
    const file = ledgerFile(root);
    const seen = readWithRecord(file);
    const content = seen ? decode(seen.bytes) : EMPTY;
    const ledger = new Ledger(file, content);
    // What a command reads first: the sections, parsed now.
    ledger.#sections();
    return new LedgerAhead(root, file, seen, ledger);
  }

  /** A section as stored (its owner checks its shape); undefined when absent. */
  get(name: SectionName): unknown {
    return this.#sections()[name];
  }

  #sections(): Partial<Record<SectionName, unknown>> {
    const s = this.#content.sections;
    if (typeof s !== 'string') return s;
    const parsed = parseSections(s);
    // Unreadable sections make the whole ledger empty, as a damaged header does.
    this.#content = parsed ? { ...this.#content, sections: parsed } : EMPTY;
    return this.#content.sections as Partial<Record<SectionName, unknown>>;
  }

  /** The output stat records as one text (see `outputs`). */
  get outputText(): string {
    return this.#content.text;
  }

  /** The paths of the output stat records, NUL-separated: what the start-up probe stats. */
  get outputList(): string {
    return this.#content.list;
  }

  /** Replaces a section; `outputText` with it for the `outputs` section. Written by `save`. */
  set(name: SectionName, value: unknown, outputText?: string): void {
    this.#content = { ...this.#content, sections: { ...this.#sections(), [name]: value } };
    if (name === 'outputs') {
      const text = outputText ?? '';
      const paths = [...recordsByPath(text).keys()];
      this.#content = { ...this.#content, text, list: paths.length ? `${paths.join('\0')}\0` : '' };
    }
    this.#changed.add(name);
  }

  /**
   * Writes the sections this process changed over the ledger as it is on disk now (another
   * command may have written other sections since this one was loaded), atomically. Does nothing
   * when nothing changed; a read-only checkout keeps its old ledger.
   */
  save(): void {
    if (!this.#changed.size) return;
    const disk = read(this.file);
    const sections = {
      ...(typeof disk.sections === 'string' ? parseSections(disk.sections) : disk.sections),
    };
    let { list, text } = disk;
    const mine = this.#sections();
    for (const name of this.#changed) sections[name] = mine[name];
    if (this.#changed.has('outputs')) ({ list, text } = this.#content);
    const json = JSON.stringify(sections);
    const head = JSON.stringify({ v: VERSION, json: json.length, list: list.length });
    try {
      writeAtomicSync(this.file, `${head}\n${json}${list}${text}`);
      this.#changed.clear();
      // The first ledger in a checkout that an older Slipway used: its separate files are dead.
      if (disk === EMPTY) {
        for (const f of legacyStateFiles(path.dirname(path.dirname(this.file)))) rmSync(f, { force: true });
      }
    } catch {
      // A read-only checkout: every run takes the slow path, nothing else changes.
    }
  }
}

/**
 * A ledger read ahead (`Ledger.ahead`). It stands while the file is unchanged: the same stat
 * record (the ledger is only ever replaced by a rename, which gives it a new inode), and when the
 * record was racy as it was read (state/racy.ts: a change in the same tick could keep it), the
 * same bytes.
 */
export class LedgerAhead {
  #taken = false;

  constructor(
    readonly root: string,
    private readonly file: string,
    private readonly seen: { bytes: Buffer; record: string; racy: boolean } | undefined,
    private readonly ledger: Ledger,
  ) {}

  /** The ledger of `root` as it is now: the one read ahead when it still stands; once. */
  take(root: string): Ledger {
    if (this.#taken || root !== this.root) return Ledger.load(root);
    this.#taken = true;
    const { seen } = this;
    if (statRecord(this.file) !== (seen?.record ?? '')) return Ledger.load(root);
    if (seen?.racy) {
      const now = readWithRecord(this.file);
      if (!now?.bytes.equals(seen.bytes)) return Ledger.load(root);
    }
    return this.ledger;
  }
}

/** The ledger's bytes with the stat record of the file they were read from; undefined when absent. */
function readWithRecord(file: string): { bytes: Buffer; record: string; racy: boolean } | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    const bytes = readFileSync(fd);
    const record = recordOf(file, st);
    return { bytes, record, racy: isRacyRecord(record) };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Parsed sections, or undefined when they are not a JSON object. */
function parseSections(json: string): Partial<Record<SectionName, unknown>> | undefined {
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The ledger's content, or EMPTY when it is absent, damaged, or of another version. */
function read(file: string): Content {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return EMPTY;
  }
  return decode(bytes);
}

/** The content of a ledger file's bytes, or EMPTY when they are damaged or of another version. */
function decode(bytes: Buffer): Content {
  // Almost always pure ASCII (paths, hashes, JSON): then latin1 is the same text, decoded ~10×
  // faster than UTF-8, which matters for a file of megabytes read before every run.
  const all = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  try {
    const nl = all.indexOf('\n');
    if (nl < 0) return EMPTY;
    const head = JSON.parse(all.slice(0, nl)) as {
      v?: unknown;
      json?: unknown;
      list?: unknown;
    };
    if (head.v !== VERSION) return EMPTY;
    if (typeof head.json !== 'number' || typeof head.list !== 'number') return EMPTY;
    const listAt = nl + 1 + head.json;
    const textAt = listAt + head.list;
    if (textAt > all.length) return EMPTY;
    return {
      sections: all.slice(nl + 1, listAt),
      list: all.slice(listAt, textAt),
      text: all.slice(textAt),
    };
  } catch {
    return EMPTY;
  }
}
