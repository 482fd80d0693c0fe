/**
 * Worker threads that chunk segments of large files (cdc-worker.js, parallel-chunk.ts). Started
 * on demand (a walk with no large file to chunk starts none), kept unreferenced while idle, and
 * closed by whoever made the pool. A worker that fails fails the pool: every task pending or asked
 * for later is answered with the failure, and the caller chunks on its own thread instead.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { err, ok, type Result } from '../util/result.js';
import { reapplyV8Flags } from '../util/v8-flags.js';
import type { FastSeed } from './fast-hash.js';
import type { ChunkingParams } from './fastcdc.js';
import type { ChunkRun } from './rechunk.js';
import type { ChunkId } from './types.js';

/** One segment to chunk: from `from` until a cut at or past `stop` (or the end of the file). */
export interface SegmentTask {
  seq: number;
  file: string;
  from: number;
  stop: number;
  /** The file's chunks as of the last deploy, to check instead of scan where unchanged. */
  old?: readonly [ChunkId, number][];
  /** The fast hashes of `old`'s chunks (fast-hash.ts), when the ledger has them; sent with `old`. */
  oldFast?: Uint8Array;
  /** Instead of `old` and `oldFast`: the same as in the worker's previous task (not sent again). */
  sameOld?: boolean;
  params: ChunkingParams;
  /** The ledger's seed: each chunk's fast hash is taken with it (chunkRun's `hasher`). */
  seed?: FastSeed;
}

/** A worker's messages: `ready` once it has loaded, then one answer per task. */
export type SegmentAnswer =
  | { ready: true }
  | { seq: number; ok: true; run: ChunkRun }
  | { seq: number; ok: false; error: string };

/** Chunks a segment somewhere: in a worker thread, or (tests) on this thread. */
export type SegmentRunner = (task: Omit<SegmentTask, 'seq'>) => Promise<Result<ChunkRun, string>>;

/**
 * The worker's script, next to this module's file in every layout: dist/src/deploy (compiled),
 * dist/cli (the CLI's bundle), dist/bench (the bench deployer's bundle). Absent when the sources
 * run as TypeScript (unit tests): then there is no pool.
 */
const WORKER_URL = new URL('./cdc-worker.js', import.meta.url);

interface Pending {
  task: SegmentTask;
  resolve: (r: Result<ChunkRun, string>) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** The old chunk list of the worker's last task: a worker keeps it for the next. */
  old?: readonly [ChunkId, number][];
  pending?: Pending;
}

export class CdcPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #failed: string | undefined;
  #closed = false;
  #seq = 0;
  #ready: Promise<boolean> | undefined;
  #onReady: ((ready: boolean) => void) | undefined;

  private constructor(
    readonly threads: number,
    readonly url: URL,
  ) {}

  /** A pool of `threads` workers, or undefined where the worker's script is not built. */
  static create(threads: number, url: URL = WORKER_URL): CdcPool | undefined {
    if (threads < 1 || url.protocol !== 'file:' || !existsSync(fileURLToPath(url))) return undefined;
    return new CdcPool(threads, url);
  }

  /** Why the pool no longer runs tasks, once a worker has failed. */
  get failed(): string | undefined {
    return this.#failed;
  }

  /** Starts the workers ahead of their first task, so that their start-up overlaps other work. */
  start(): void {
    this.#ready ??= new Promise((resolve) => {
      this.#onReady = resolve;
    });
    while (this.#slots.length < this.threads && !this.#failed && !this.#closed) this.#spawn();
  }

  readonly run: SegmentRunner = (task) =>
    new Promise((resolve) => {
      if (this.#failed || this.#closed) {
        resolve(err(this.#failed ?? 'the chunking pool is closed'));
        return;
      }
      this.start();
      this.#queue.push({ task: { ...task, seq: ++this.#seq }, resolve });
      this.#pump();
    });

  /** Resolves with true once every worker has loaded, with false if one fails first. */
  ready(): Promise<boolean> {
    this.start();
    return this.#ready!;
  }

  /** Stops the workers; tasks still pending are answered with a failure. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#onReady?.(false);
    this.#answerAll('the chunking pool is closed');
    await Promise.all(this.#slots.splice(0).map((s) => s.worker.terminate()));
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.pending || !slot.ready) continue;
      const next = this.#queue.shift();
      if (!next) return;
      slot.pending = next;
      slot.worker.ref();
      const { task } = next;
      const sameOld = task.old !== undefined && task.old === slot.old;
      slot.old = task.old;
      slot.worker.postMessage(sameOld ? { ...task, old: undefined, oldFast: undefined, sameOld } : task);
    }
  }

  #spawn(): void {
    let worker: Worker;
    try {
      worker = new Worker(this.url);
    } catch (e) {
      this.#fail(`cannot start a chunking worker: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    worker.unref();
    // Starting it set this process's V8 flags back to the command line's (v8-flags.ts).
    worker.once('online', reapplyV8Flags);
    const slot: Slot = { worker, ready: false };
    this.#slots.push(slot);
    worker.on('message', (a: SegmentAnswer) => {
      if ('ready' in a) {
        slot.ready = true;
        if (this.#slots.every((s) => s.ready)) this.#onReady?.(true);
        this.#pump();
        return;
      }
      const p = slot.pending;
      if (!p || p.task.seq !== a.seq) {
        this.#fail('a chunking worker answered a task it was not given');
        return;
      }
      slot.pending = undefined;
      worker.unref();
      p.resolve(a.ok ? ok(a.run) : err(a.error));
      this.#pump();
    });
    worker.on('error', (e) => this.#fail(`a chunking worker failed: ${e.message}`));
    worker.on('exit', (code) => {
      if (!this.#closed) this.#fail(`a chunking worker exited (code ${code})`);
    });
  }

  #fail(why: string): void {
    this.#failed ??= why;
    this.#onReady?.(false);
    this.#answerAll(this.#failed);
    for (const s of this.#slots.splice(0)) void s.worker.terminate();
  }

  #answerAll(why: string): void {
    for (const s of this.#slots) {
      const p = s.pending;
      s.pending = undefined;
      p?.resolve(err(why));
    }
    for (const p of this.#queue.splice(0)) p.resolve(err(why));
  }
}
