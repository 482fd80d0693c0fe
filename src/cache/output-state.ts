/**
 * What each task's outputs looked like right after we saved or restored them, with the log and
 * duration of the run that made them: the ledger's `outputs` section (state/ledger.ts; it
 * describes this working tree, not the shareable cache). A hit whose outputs are still exactly
 * as recorded then costs nothing but a comparison: no walk, no entry read, no copy.
 *
 * "Exactly as recorded" means the same stat record (state/stat-record.ts: size, mtime and ctime
 * to the nanosecond, inode, mode) for every output file, folder and symlink, and for each folder
 * the scan looked into (a file added or removed changes its folder's mtime). A child process
 * stats every recorded path while the run loads (state/checkout.ts), and when its answer equals
 * the recorded text, every task is in place with one string comparison.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import type { Ledger } from '../state/ledger.js';
import { recordPath, recordsByPath, statRecord } from '../state/stat-record.js';
import type { OutputScan } from './restore.js';

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
  /** The text exactly as read (all records, in the section's order). */
  text: string;
}

/** The section: each task's record with its span of the ledger's output text. */
interface OutputsSection {
  format: number;
  tasks: Record<string, StoredRecord>;
}

const FORMAT = 4;
// Logs bigger than this stay only in the entry: the state is read on every run.
const MAX_LOG = 64 * 1024;

export class OutputState {
  #loaded: Loaded | undefined;
  /** Tasks whose record this run changed (the start-up stats no longer describe them). */
  readonly #changed = new Set<string>();
  #probeMap: Map<string, string> | undefined;
  #allInPlace: boolean | undefined;

  /**
   * `probe`: stat's answer for the ledger's output list, taken at start-up (state/checkout.ts);
   * `inPlace` compares against it instead of calling lstat per file.
   */
  constructor(
    private readonly ledger: Ledger,
    private readonly probe?: Promise<string | undefined>,
  ) {}

  #state(): Loaded {
    this.#loaded ??= readSection(this.ledger);
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
    const probe = o.probe && this.probe && !this.#changed.has(taskId) ? await this.probe : undefined;
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
      if ((actual ? actual.get(p) : statRecord(p)) !== expected) return false;
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
      const line = statRecord(abs);
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
    this.#changed.add(taskId);
  }

  /** Hands what changed in this run to the ledger (written by its `save`). */
  save(): void {
    if (!this.#changed.size) return;
    const { tasks } = this.#state();
    const stored: Record<string, StoredRecord> = {};
    let text = '';
    for (const id of [...tasks.keys()].sort()) {
      const { stat, ...rest } = tasks.get(id)!;
      stored[id] = { ...rest, at: [text.length, text.length + stat.length] };
      text += stat;
    }
    const section: OutputsSection = { format: FORMAT, tasks: stored };
    this.ledger.set('outputs', section, text);
    this.#changed.clear();
  }
}

/** The records of the ledger's `outputs` section; none when it is absent or of another format. */
function readSection(ledger: Ledger): Loaded {
  const none: Loaded = { tasks: new Map(), text: '' };
  const section = ledger.get('outputs') as OutputsSection | undefined;
  if (section?.format !== FORMAT || typeof section.tasks !== 'object' || !section.tasks) return none;
  const text = ledger.outputText;
  const tasks = new Map<string, OutputRecord>();
  for (const [id, r] of Object.entries(section.tasks)) {
    const { at, ...rest } = r;
    if (!Array.isArray(at) || typeof at[0] !== 'number' || typeof at[1] !== 'number') return none;
    if (at[1] > text.length || at[0] > at[1]) return none;
    tasks.set(id, { ...rest, stat: text.slice(at[0], at[1]) });
  }
  return { tasks, text };
}
