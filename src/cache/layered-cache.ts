/**
 * The cache the executor talks to: hash, then local store, then the remote, then run. Every
 * kind of cache trouble becomes a warning and a miss; a run never fails because of its cache.
 */
import { randomUUID } from 'node:crypto';
import type { Pipeline, TaskConfig } from '../config/types.js';
import type { TaskGraph } from '../graph/graph.js';
import type { Ledger } from '../state/ledger.js';
import { Semaphore } from '../util/semaphore.js';
import { archiveOutputs } from './archive-outputs.js';
import { decodeEntry, type Entry, encodeEntry } from './entry.js';
import { type HashManifest, hashManifest } from './hash-manifest.js';
import type { LocalStore } from './local-store.js';
import type { ManifestStore } from './manifests.js';
import type { OutputRecord, OutputState } from './output-state.js';
import { currentOutputs, restoreOutputs } from './restore.js';
import type { TaskHasher } from './task-hasher.js';
import type { TurboRemoteCache } from './turbo-remote-cache.js';
import type { CacheLookup, TaskCache, TaskHash } from './types.js';

export interface LayeredCacheOptions {
  /** The pipeline whose tasks `settle` looks at. */
  pipeline: Pipeline;
  /** This checkout's ledger: the hasher and output state hand it their records, `flush` writes it. */
  ledger: Ledger;
  hasher: TaskHasher;
  store: LocalStore;
  state: OutputState;
  manifests: ManifestStore;
  remote?: { client: TurboRemoteCache; read: boolean; write: boolean };
  maxSize: number;
  warn: (message: string, taskId?: string) => void;
  /** Uploads in flight at once. */
  uploadConcurrency?: number;
  /**
   * For `slipway plan`: say what a run would find and change nothing. A lookup then hashes and
   * checks outputs and the local store, and answers a hit for an entry it would restore, but
   * restores, records, touches, stores and asks the remote nothing; `save` and `flush` do nothing.
   */
  readOnly?: boolean;
}

export class LayeredCache implements TaskCache {
  /** Every upload not yet settled, waiting for its turn or in flight (flush awaits them all). */
  readonly #uploads = new Set<Promise<void>>();
  /** Uploads in flight at once: `uploadConcurrency`, default 4. */
  readonly #uploadSlots: Semaphore;
  #warnedDown = false;
  #saved = 0;

  constructor(private readonly o: LayeredCacheOptions) {
    this.#uploadSlots = new Semaphore(o.uploadConcurrency ?? 4);
  }

  async settle(graph: TaskGraph): Promise<Map<string, CacheLookup>> {
    const settled = new Map<string, CacheLookup>();
    for (const id of graph.topo()) {
      const task = this.o.pipeline.tasks.get(id);
      if (!task?.cache) continue;
      const deps = new Map<string, TaskHash>();
      let ok = true;
      for (const d of graph.deps(id)) {
        const h = settled.get(d);
        if (h) deps.set(d, h.hash);
        // A dependency that runs may change this task's inputs: it waits for the scheduler.
        else if (graph.has(d)) ok = false;
      }
      if (!ok) continue;
      const found = await this.#lookup(task, deps, { restore: true, settling: true });
      if (found.hit) settled.set(id, found);
    }
    return settled;
  }

  lookup(
    task: TaskConfig,
    depHashes: ReadonlyMap<string, TaskHash>,
    opts: { restore: boolean },
  ): Promise<CacheLookup> {
    return this.#lookup(task, depHashes, { restore: opts.restore, settling: false });
  }

  /** `settling`: only a hit whose outputs are in place counts, and start-up stats may answer. */
  async #lookup(
    task: TaskConfig,
    depHashes: ReadonlyMap<string, TaskHash>,
    opts: { restore: boolean; settling: boolean },
  ): Promise<CacheLookup> {
    // The record of what this task's outputs were last made from. When it already names this
    // hash, so does the manifest store: nothing to write.
    const rec = this.o.state.load(task.id);
    // A hash the last run computed, while nothing it depends on has changed (hash-memo.ts); its
    // manifest was recorded by the run that computed it.
    let hash = await this.o.hasher.known(task, depHashes);
    if (hash === undefined) {
      let manifest: HashManifest;
      try {
        const m = await this.o.hasher.manifest(task, depHashes);
        if (!m.ok) {
          this.o.warn(`cannot hash ${task.id}: ${m.error}; running it uncached`, task.id);
          return { hash: uncacheable(task) };
        }
        hash = hashManifest(m.value);
        manifest = m.value;
        this.o.hasher.computed(task.id, hash);
      } catch (e) {
        this.o.warn(`cannot hash ${task.id}: ${(e as Error).message}; running it uncached`, task.id);
        return { hash: uncacheable(task) };
      }
      if (rec?.hash !== hash && !this.o.readOnly) {
        const record = (h: TaskHash, m: HashManifest) => {
          try {
            this.o.manifests.record(h, m);
          } catch (e) {
            this.o.warn(
              `cannot record the inputs of ${task.id} for "slipway why": ${(e as Error).message}`,
              task.id,
            );
          }
        };
        // A key-only lookup is a worker checking a job's key just before starting its command:
        // the manifest (for `slipway why`, a few file system calls) is written in the next turn of
        // the event loop, after the command started, not on its way.
        if (opts.restore) record(hash, manifest);
        else setImmediate(record, hash, manifest);
      }
    }
    // Only the key is asked for: the outputs' state is not looked at.
    if (!opts.restore || !task.cache) return { hash };
    // Only a lookup made before anything runs (settling, or a read-only cache: nothing runs) may
    // trust the start-up stats.
    const inPlace =
      rec?.hash === hash &&
      (await this.o.state.inPlace(task.id, rec, task.cwd, {
        probe: opts.settling || this.o.readOnly === true,
      }));
    try {
      const hit = this.#inPlaceHit(task, hash, rec, inPlace);
      if (hit) {
        if (!this.o.readOnly) await this.#storeAgainIfGone(task, hash, rec!);
        return hit;
      }
      if (opts.settling) return { hash };
      return (await this.#fetchAndRestore(task, hash, inPlace)) ?? { hash };
    } catch (e) {
      this.o.warn(`cache lookup for ${task.id} failed: ${(e as Error).message}; running the task`, task.id);
      return { hash };
    }
  }

  /**
   * Outputs still exactly as this hash left them: a hit that reads and writes nothing (the
   * entry's last-use time is refreshed at most hourly, which is all LRU eviction needs).
   */
  #inPlaceHit(
    task: TaskConfig,
    hash: TaskHash,
    rec: OutputRecord | undefined,
    inPlace: boolean,
  ): CacheLookup | undefined {
    if (!rec || !inPlace || rec.log === undefined) return undefined;
    if (!this.o.readOnly && !(Date.now() - (rec.usedAt ?? 0) < TOUCH_EVERY_MS)) {
      this.o.store.touch(hash);
      this.o.state.markUsed(task.id, rec);
    }
    return { hash, hit: { source: 'local', log: rec.log, savedMs: rec.durationMs } };
  }

  /**
   * Outputs in place whose entry is gone (`cache prune`, eviction, a cleared shared cache folder)
   * are stored again: they are exactly what this hash produced (every stat as recorded), and
   * without this every later run would report a hit while the cache held nothing to restore.
   * One stat of the entry per in-place hit.
   */
  async #storeAgainIfGone(task: TaskConfig, hash: TaskHash, rec: OutputRecord): Promise<void> {
    if (this.o.store.has(hash)) return;
    await this.save(task, hash, { log: rec.log ?? '', durationMs: rec.durationMs });
  }

  /** The local entry, else the remote one, restored; `inPlace`: the outputs need no restore. */
  async #fetchAndRestore(
    task: TaskConfig,
    hash: TaskHash,
    inPlace: boolean,
  ): Promise<CacheLookup | undefined> {
    const local = this.o.store.read(hash);
    if (local.kind === 'hit' && this.o.readOnly) {
      return {
        hash,
        hit: { source: 'local', log: local.entry.meta.log, savedMs: local.entry.meta.durationMs },
      };
    }
    if (this.o.readOnly) return undefined;
    if (local.kind === 'hit') {
      if (inPlace || this.#restore(task, hash, local.entry)) {
        this.o.store.touch(hash);
        return {
          hash,
          hit: { source: 'local', log: local.entry.meta.log, savedMs: local.entry.meta.durationMs },
        };
      }
      this.o.store.remove(hash);
    } else if (local.kind === 'damaged') {
      this.o.warn(
        `local cache entry ${hash.slice(0, 12)} of ${task.id} is damaged (${local.reason}); ignoring it`,
        task.id,
      );
      this.o.store.remove(hash);
    }

    const remote = this.o.remote;
    if (!remote?.read || remote.client.down) return undefined;
    const got = await remote.client.get(hash);
    this.#noticeDown();
    switch (got.kind) {
      case 'miss':
      case 'off':
        return undefined;
      case 'bad-signature':
        this.o.warn(
          `remote artifact ${hash.slice(0, 12)} of ${task.id} failed the signature check; not restoring it (check SLIPWAY_REMOTE_CACHE_SIGNATURE_KEY)`,
          task.id,
        );
        return undefined;
      case 'error':
        // About this artifact only (e.g. the server rejects it): the remote stays in use.
        this.o.warn(
          `remote artifact ${hash.slice(0, 12)} of ${task.id} could not be fetched (${got.message}); running the task`,
          task.id,
        );
        return undefined;
      case 'hit': {
        const entry = decodeEntry(got.bytes, hash);
        if (!entry.ok) {
          this.o.warn(
            `remote artifact ${hash.slice(0, 12)} of ${task.id} is unusable (${entry.error})`,
            task.id,
          );
          return undefined;
        }
        if (!this.#restore(task, hash, entry.value)) return undefined;
        try {
          // A local copy of a remote hit: nothing waits for it to land.
          void this.o.store.write(hash, got.bytes);
        } catch (e) {
          this.o.warn(`cannot keep remote artifact locally: ${(e as Error).message}`, task.id);
        }
        return {
          hash,
          hit: { source: 'remote', log: entry.value.meta.log, savedMs: entry.value.meta.durationMs },
        };
      }
    }
  }

  #restore(task: TaskConfig, hash: TaskHash, entry: Entry): boolean {
    const current = currentOutputs(task.cwd, task.outputs).entries;
    const r = restoreOutputs({ cwd: task.cwd, outputs: task.outputs, archive: entry.archive, current });
    if (!r.ok) {
      this.o.warn(`refusing cache entry ${hash.slice(0, 12)} of ${task.id}: ${r.error}`, task.id);
      return false;
    }
    this.o.state.record(task.id, hash, task.cwd, r.value.scan, entry.meta);
    return true;
  }

  async save(task: TaskConfig, hash: TaskHash, result: { log: string; durationMs: number }): Promise<void> {
    if (!task.cache || hash.startsWith(UNCACHEABLE) || this.o.readOnly) return;
    try {
      const archived = archiveOutputs(task.cwd, task.outputs);
      if (!archived.ok) {
        this.o.warn(`${task.id} not cached: ${archived.error}`, task.id);
        return;
      }
      const { archive, scan } = archived.value;
      const bytes = encodeEntry(
        {
          v: 1,
          taskId: task.id,
          hash,
          durationMs: result.durationMs,
          createdAt: Date.now(),
          log: result.log,
        },
        archive,
      );
      await this.o.store.write(hash, bytes);
      this.o.state.record(task.id, hash, task.cwd, scan, result);
      this.#saved += bytes.length;
      const remote = this.o.remote;
      if (remote?.write && !remote.client.down)
        this.#upload(remote.client, hash, bytes, result.durationMs, task.id);
    } catch (e) {
      this.o.warn(`${task.id} not cached: ${(e as Error).message}`, task.id);
    }
  }

  #upload(client: TurboRemoteCache, hash: string, bytes: Buffer, durationMs: number, taskId: string): void {
    const run = async (): Promise<void> => {
      if (client.down) return;
      const r = await client.put(hash, bytes, durationMs);
      this.#noticeDown();
      // A refusal of this one artifact (413 too large, 400) leaves the remote in use for the others.
      if (r.kind === 'error')
        this.o.warn(
          `upload of ${taskId} to the remote cache failed (${r.message}); it stays cached locally`,
          taskId,
        );
    };
    const p: Promise<void> = this.#uploadSlots
      .run(run)
      .catch((e: unknown) => this.o.warn(`upload of ${taskId} failed: ${String(e)}`, taskId))
      .finally(() => this.#uploads.delete(p));
    this.#uploads.add(p);
  }

  /** When the client's breaker has turned the remote off: one warning for the run. */
  #noticeDown(): void {
    const why = this.o.remote?.client.down;
    if (!why || this.#warnedDown) return;
    this.#warnedDown = true;
    this.o.warn(
      `remote cache ${this.o.remote?.client.location} unavailable (${why}); continuing with the local cache only`,
    );
  }

  async flush(): Promise<void> {
    if (this.o.readOnly) return;
    while (this.#uploads.size) await Promise.allSettled([...this.#uploads]);
    try {
      // Entries reach the disk in the background; the run is not over until they have.
      for (const failed of await this.o.store.settle()) this.o.warn(`cache entry not stored: ${failed}`);
      this.o.hasher.save();
      this.o.state.save();
      this.o.ledger.save();
      if (this.#saved > 0) this.o.store.prune(this.o.maxSize);
    } catch (e) {
      this.o.warn(`cache housekeeping failed: ${(e as Error).message}`);
    }
  }
}

/** A hash no other run will ever produce: the task and its dependents run and are not restored. */
function uncacheable(_task: TaskConfig): TaskHash {
  return `${UNCACHEABLE}${randomUUID()}` as TaskHash;
}

const UNCACHEABLE = 'uncacheable-';
const TOUCH_EVERY_MS = 3_600_000;
