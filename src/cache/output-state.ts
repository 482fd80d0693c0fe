/**
 * What each task's outputs looked like right after we saved or restored them, with the log and
 * duration of the run that made them: one file per checkout (`.slipway/outputs.state`; it
 * describes this working tree, not the shareable cache). A hit whose outputs are still exactly
 * as recorded then costs nothing but a comparison: no walk, no entry read, no copy.
 *
 * "Exactly as recorded" means the same stat record (size, mtime to the nanosecond, inode, mode)
 * for every output file, folder and symlink, and for each folder the scan looked into (a file
 * added or removed changes its folder's mtime). The records are stat's own text (stat-batch.ts):
 * a child process stats every recorded path while the run loads (`prefetch`), and when its answer
 * equals the recorded text, every task is in place with one string comparison.
 *
 * File format: one line of JSON (the records, each with its span of the text), then the text.
 * A second file, `<state>.list`, lists the paths to stat for the next run.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeAtomicSync } from '../state/atomic-write.js';
import type { OutputScan } from './restore.js';
import { recordPath, recordsByPath, statLine, statMany } from './stat-batch.js';

export interface OutputRecord {
  hash: string;
  /** The task's absolute folder. */
  cwd: string;
  /** The stat records of every output path and watched folder, in path order. */
  stat: string;
  /** Watched folders that did not exist (they must still not exist). */
  absent?: string[];
  /** Absent when too large to keep here (the entry has it). */
  log?: string;
  durationMs: number;
  /** When the cache entry's last-use time was last refreshed (epoch ms). */
  usedAt?: number;
}

type StoredRecord = Omit<OutputRecord, 'stat'> & { at: [number, number] };

interface Loaded {
  tasks: Map<string, OutputRecord>;
  /** The text exactly as read (all records, in file order). */
  text: string;
}

const FORMAT = 3;
// Logs bigger than this stay only in the entry: the state is read on every run.
const MAX_LOG = 64 * 1024;

export class OutputState {
  #loaded: Loaded | undefined;
  /** Records written by this run (null: dropped), by task. */
  readonly #changed = new Map<string, OutputRecord | null>();
  #probe: Promise<string | undefined> | undefined;
  #probeMap: Map<string, string> | undefined;
  #allInPlace: boolean | undefined;

  /** `file`: the state file; the list of paths to stat sits beside it as `<file>.list`. */
  constructor(private readonly file: string) {}

  get listFile(): string {
    return `${this.file}.list`;
  }

  /**
   * Uses (or starts) stat-ing every recorded path in a child process; `inPlace` then compares
   * against its answer instead of calling lstat per file. Call it early: the CLI starts the
   * probe before it even loads (see cli/probe.ts).
   */
  prefetch(probe: Promise<string | undefined> = statMany(this.listFile)): void {
    this.#probe ??= probe;
  }

  #state(): Loaded {
    this.#loaded ??= readState(this.file);
    return this.#loaded;
  }

  /** The last record of a task, if any. */
  load(taskId: string): OutputRecord | undefined {
    return this.#state().tasks.get(taskId);
  }

  /**
   * True when the outputs of `rec` (task `taskId`, folder `cwd`) are exactly as recorded. With
   * `probe`, the stats taken at start-up answer; that is only right while nothing has run yet
   * (any task may write or delete anything), i.e. while settling before the run starts.
   */
  async inPlace(
    taskId: string,
    rec: OutputRecord,
    cwd: string,
    o: { probe?: boolean } = {},
  ): Promise<boolean> {
    if (rec.cwd !== cwd) return false;
    for (const abs of rec.absent ?? []) if (lstatSync(abs, { throwIfNoEntry: false })) return false;
    const probe = o.probe && this.#probe && !this.#changed.has(taskId) ? await this.#probe : undefined;
    if (probe !== undefined) {
      this.#allInPlace ??= probe === this.#state().text;
      if (this.#allInPlace) return true;
      this.#probeMap ??= recordsByPath(probe);
    }
    const actual = this.#probeMap && probe !== undefined ? this.#probeMap : undefined;
    let start = 0;
    const text = rec.stat;
    while (start < text.length) {
      const end = text.indexOf('\0', start) + 1;
      if (end === 0) return false;
      const expected = text.slice(start, end);
      const p = recordPath(expected);
      if ((actual ? actual.get(p) : statLine(p)) !== expected) return false;
      start = end;
    }
    return true;
  }

  /** Records the outputs just scanned (paths relative to `cwd`) as those of `hash`. */
  record(
    taskId: string,
    hash: string,
    cwd: string,
    scan: OutputScan,
    meta: { log: string; durationMs: number },
  ): void {
    const paths = new Set<string>();
    for (const e of scan.entries) paths.add(e.path ? path.join(cwd, e.path) : cwd);
    const absent: string[] = [];
    for (const p of scan.watch) {
      const abs = p ? path.join(cwd, p) : cwd;
      if (lstatSync(abs, { throwIfNoEntry: false })) paths.add(abs);
      else absent.push(abs);
    }
    let stat = '';
    for (const abs of [...paths].sort()) {
      const line = statLine(abs);
      if (!line) {
        // Changed under us: record nothing rather than something wrong.
        this.#set(taskId, undefined);
        return;
      }
      stat += line;
    }
    const rec: OutputRecord = { hash, cwd, stat, durationMs: meta.durationMs, usedAt: Date.now() };
    if (absent.length) rec.absent = absent;
    if (meta.log.length <= MAX_LOG) rec.log = meta.log;
    this.#set(taskId, rec);
  }

  /** Notes that the entry behind `rec` was just marked as used. */
  markUsed(taskId: string, rec: OutputRecord): void {
    this.#set(taskId, { ...rec, usedAt: Date.now() });
  }

  #set(taskId: string, rec: OutputRecord | undefined): void {
    const { tasks } = this.#state();
    if (rec) tasks.set(taskId, rec);
    else tasks.delete(taskId);
    this.#changed.set(taskId, rec ?? null);
  }

  /**
   * Writes what changed in this run back (temp name + rename), merged into the file as it is now
   * so two runs in one checkout do not drop each other's records, then the list of paths.
   */
  save(): void {
    // Nothing new, unless the list of paths went missing (the next run's probe needs it).
    if (!this.#changed.size && (existsSync(this.listFile) || !existsSync(this.file))) return;
    const merged = readState(this.file).tasks;
    for (const [id, rec] of this.#changed) {
      if (rec) merged.set(id, rec);
      else merged.delete(id);
    }
    const stored: Record<string, StoredRecord> = {};
    let text = '';
    for (const id of [...merged.keys()].sort()) {
      const { stat, ...rest } = merged.get(id)!;
      stored[id] = { ...rest, at: [text.length, text.length + stat.length] };
      text += stat;
    }
    writeAtomicSync(this.file, `${JSON.stringify({ v: FORMAT, tasks: stored })}\n${text}`);
    const paths = recordsByPath(text);
    writeAtomicSync(this.listFile, paths.size ? `${[...paths.keys()].join('\0')}\0` : '');
    this.#changed.clear();
  }
}

function readState(file: string): Loaded {
  const none: Loaded = { tasks: new Map(), text: '' };
  let all: string;
  try {
    all = readFileSync(file, 'utf8');
  } catch {
    return none;
  }
  const nl = all.indexOf('\n');
  try {
    const head = JSON.parse(nl < 0 ? all : all.slice(0, nl)) as {
      v?: number;
      tasks?: Record<string, StoredRecord>;
    };
    if (head.v !== FORMAT || !head.tasks || nl < 0) return none;
    const text = all.slice(nl + 1);
    const tasks = new Map<string, OutputRecord>();
    for (const [id, r] of Object.entries(head.tasks)) {
      const { at, ...rest } = r;
      if (!Array.isArray(at) || at[1] > text.length) return none;
      tasks.set(id, { ...rest, stat: text.slice(at[0], at[1]) });
    }
    return { tasks, text };
  } catch {
    return none;
  }
}
