/** Builds each task's hash manifest; git is read once per hasher, file ids once per change. */
import path from 'node:path';
import type { Pipeline, TaskConfig } from '../config/types.js';
import { Checkout } from '../state/checkout.js';
import type { GitFacts } from '../util/git-facts.js';
import { err, ok, type Result } from '../util/result.js';
import { FingerprintCache } from './fingerprints.js';
import { type GitSnapshot, gitSnapshot } from './git-snapshot.js';
import { canonical, type HashManifest, hashManifest, platformKey } from './hash-manifest.js';
import { type Remembered, recall, remember, worldKey } from './hash-memo.js';
import { type InputList, InputResolver } from './inputs.js';
import { toPosixRelative } from './safe-path.js';
import type { TaskHash } from './types.js';

export class TaskHasher {
  #facts: Promise<GitFacts> | undefined;
  #resolver: Promise<InputResolver> | undefined;
  #resolved: InputResolver | undefined;
  #global: Promise<Result<InputList, string>> | undefined;
  #fingerprints: FingerprintCache | undefined;
  readonly #memo = new Map<string, Result<{ hash: TaskHash; manifest: HashManifest }, string>>();
  /** The last run's hashes, when the world they were computed in is unchanged (hash-memo.ts). */
  #recall: Promise<{ key?: string; known?: Remembered }> | undefined;
  #recalled: { key?: string; known?: Remembered } | undefined;
  /** Hashes this run knows, computed or recalled: the next run's memo. */
  readonly #fresh = new Map<string, TaskHash>();
  #computed = 0;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly cacheDir: string,
    /** The pipeline's checkout: git's facts (probed early) and the ledger with the hash memo. */
    private readonly checkout: Checkout = new Checkout(pipeline.root),
  ) {}

  #gitFacts(): Promise<GitFacts> {
    this.#facts ??= this.checkout.git();
    return this.#facts;
  }

  #resolve(): Promise<InputResolver> {
    this.#resolver ??= gitSnapshot(this.pipeline.root, this.#gitFacts()).then(
      (snap: GitSnapshot | undefined) => {
        this.#fingerprints = new FingerprintCache(
          path.join(this.cacheDir, 'fingerprints'),
          snap?.algo ?? 'sha1',
        );
        this.#resolved = new InputResolver(snap, this.#fingerprints, this.pipeline.root);
        return this.#resolved;
      },
    );
    return this.#resolver;
  }

  #recallMemo(): Promise<{ key?: string; known?: Remembered }> {
    this.#recall ??= this.#gitFacts()
      .then((facts) => {
        const key = worldKey(this.pipeline, facts);
        return { key, known: key === undefined ? undefined : recall(this.checkout.ledger, key) };
      })
      .catch(() => ({}))
      .then((r) => {
        this.#recalled = r;
        return r;
      });
    return this.#recall;
  }

  /**
   * The hash the last run computed for `task`, when nothing any hash depends on has changed
   * since and `depHashes` are the ones it was computed with; undefined means "compute it".
   */
  async known(task: TaskConfig, depHashes: ReadonlyMap<string, TaskHash>): Promise<TaskHash | undefined> {
    const { known } = await this.#recallMemo();
    const hash = known?.hashes.get(task.id);
    if (hash === undefined) return undefined;
    for (const [d, h] of depHashes) if (known!.hashes.get(d) !== h) return undefined;
    this.#fresh.set(task.id, hash);
    return hash;
  }

  /** Notes a hash computed from scratch this run. */
  computed(taskId: string, hash: TaskHash): void {
    this.#fresh.set(taskId, hash);
    this.#computed++;
  }

  #globalInputs(): Promise<Result<InputList, string>> {
    this.#global ??= this.#resolve().then((r) =>
      this.pipeline.inputs.length
        ? r.resolve({ cwd: this.pipeline.root, inputs: this.pipeline.inputs, outputs: [] })
        : ok([]),
    );
    return this.#global;
  }

  readonly #cwds = new Map<string, string>();
  /** A task folder relative to the pipeline root ('.' for the root), as the manifest records it. */
  #relativeCwd(cwd: string): string {
    let rel = this.#cwds.get(cwd);
    if (rel === undefined) {
      rel = toPosixRelative(this.pipeline.root, cwd) || '.';
      this.#cwds.set(cwd, rel);
    }
    return rel;
  }

  /**
   * Starts reading git now (a child process), so it overlaps whatever the caller does next, and
   * checks the last run's hashes against it. Git's answer is parsed only if a hash must be
   * computed.
   */
  prefetch(): void {
    void this.#recallMemo();
  }

  /** The manifest of `task` given its dependencies' hashes. */
  async manifest(
    task: TaskConfig,
    depHashes: ReadonlyMap<string, TaskHash>,
  ): Promise<Result<HashManifest, string>> {
    const resolver = await this.#resolve();
    const global = await this.#globalInputs();
    if (!global.ok) return err(`pipeline inputs: ${global.error}`);
    const inputs = resolver.resolve({ cwd: task.cwd, inputs: task.inputs, outputs: task.outputs });
    if (!inputs.ok) return inputs;
    const deps: [string, string][] = [];
    for (const d of task.needs) {
      // A dependency outside this run (`--resume`, a filtered run) is hashed without running it.
      const h = depHashes.get(d) ?? (await this.hashAll([d])).get(d);
      if (h === undefined) return err(`no hash for dependency "${d}"`);
      if (typeof h === 'string') deps.push([d, h]);
      else if (h.ok) deps.push([d, h.value.hash]);
      else return err(`dependency "${d}": ${h.error}`);
    }
    return ok(
      canonical({
        v: 1,
        taskId: task.id,
        command: task.run,
        cwd: this.#relativeCwd(task.cwd),
        env: task.env,
        secrets: task.secrets,
        inputs: inputs.value,
        outputs: task.outputs,
        deps,
        globalEnv: this.pipeline.env,
        globalInputs: global.value,
        platform: platformKey(),
      }),
    );
  }

  /** Hashes `ids` and everything they depend on, without running anything; returns all known hashes. */
  async hashAll(
    ids: readonly string[],
  ): Promise<Map<string, Result<{ hash: TaskHash; manifest: HashManifest }, string>>> {
    const done = this.#memo;
    const visit = async (id: string): Promise<TaskHash | undefined> => {
      const seen = done.get(id);
      if (seen) return seen.ok ? seen.value.hash : undefined;
      const task = this.pipeline.tasks.get(id);
      if (!task) {
        done.set(id, err(`unknown task "${id}"`));
        return undefined;
      }
      const deps = new Map<string, TaskHash>();
      for (const d of task.needs) {
        const h = await visit(d);
        if (h === undefined) {
          done.set(id, err(`dependency "${d}" could not be hashed`));
          return undefined;
        }
        deps.set(d, h);
      }
      const m = await this.manifest(task, deps);
      if (!m.ok) {
        done.set(id, m);
        return undefined;
      }
      const hash = hashManifest(m.value);
      done.set(id, ok({ hash, manifest: m.value }));
      this.computed(id, hash);
      return hash;
    };
    for (const id of ids) await visit(id);
    // Everything hashed so far, dependencies included.
    return new Map(done);
  }

  /**
   * Persists what was learned about file contents, and hands this run's hashes to the ledger for
   * the next run when every input list came from git (see hash-memo.ts) and something new was
   * computed.
   */
  save(): void {
    this.#fingerprints?.save();
    const r = this.#recalled;
    if (!r?.key || !this.#computed || this.#resolved?.outsideGit) return;
    const hashes = new Map(r.known?.hashes);
    for (const [id, h] of this.#fresh) hashes.set(id, h);
    const reads = new Map(r.known?.reads);
    for (const [abs, sig] of this.#fingerprints?.reads ?? []) reads.set(abs, sig);
    remember(this.checkout.ledger, r.key, { hashes, reads });
  }
}
