/**
 * Activation on an agent: `current` switched to a staged release and the app restarted there, or
 * rolled back to an earlier one. One at a time, in a queue that also runs each activation's
 * pruning after its answer (as Capistrano-style tools do): the deployer does not wait for a
 * removal, the next activation and whoever asks `pruned()` do.
 */
import { err, ok, type Result } from '../../util/result.js';
import { trace } from '../../util/trace.js';
import type { ReleaseId } from '../types.js';
import type { AppSupervisor } from './app.js';
import type { AppValidator } from './app-validation.js';
import type { KeptReleases } from './kept-releases.js';
import type { Layout } from './layout.js';
import type { ActivateRequest, ActivateResult } from './operations.js';
import type { ReleaseTimes } from './release-times.js';
import { currentRelease, switchCurrent } from './releases.js';

export interface ActivationOptions {
  layout: Layout;
  kept: Pick<KeptReleases, 'manifests'>;
  times: ReleaseTimes;
  app: AppSupervisor;
  validator: AppValidator;
  /** Releases kept when an activation does not say (default 5). */
  keep: number | undefined;
  /** Removes releases beyond `keep`, never the pinned ones (pruning.ts). */
  prune: (keep: number, pinned: (ReleaseId | null)[]) => Promise<void>;
  /** Told of a pruning that failed after its answer. */
  warn: ((message: string) => void) | undefined;
}

export class Activation {
  #queue: Promise<unknown> = Promise.resolve();
  /** The pruning after the last activation, while it runs (never rejects). */
  #pruned: Promise<unknown> = Promise.resolve();

  constructor(readonly o: ActivationOptions) {}

  /** Settles when the pruning after the last activation is done (it never rejects). */
  pruned(): Promise<unknown> {
    return this.#pruned;
  }

  /** Switches `current` to a staged release and restarts the app there; prunes after the answer. */
  activate(req: ActivateRequest): Promise<Result<ActivateResult, string>> {
    const switched = this.#serial(() => this.#activate(req));
    void this.#serial(async () => {
      const r = await switched;
      if (!r.ok || !r.value.switched) return;
      // Set within microtasks of the switch, so before any later request is read.
      this.#pruned = this.o.prune(req.keep ?? this.o.keep ?? 5, [r.value.current, r.value.previous]).catch(
        // A removal that fails leaves a release too many, which the next activation prunes.
        (e: unknown) =>
          this.o.warn?.(
            `pruning old releases after activating ${r.value.current} failed: ${(e as Error).message} (the next activation tries again)`,
          ),
      );
      await this.#pruned;
    });
    return switched.then((r) =>
      r.ok ? ok({ previous: r.value.previous, current: r.value.current, pid: r.value.pid }) : r,
    );
  }

  /** Goes back to `to`, or to the most recently active release before the current one. */
  async rollback(
    to?: ReleaseId | null,
    expected?: ReleaseId | null,
  ): Promise<Result<ActivateResult, string>> {
    if (to !== undefined) return this.activate({ release: to, expected });
    const cur = await currentRelease(this.o.layout);
    const prev = this.o.times.lastActivated(this.o.kept.manifests.keys(), cur);
    if (!prev) return err('no earlier release to roll back to');
    return this.activate({ release: prev, expected });
  }

  async #activate(req: ActivateRequest): Promise<Result<ActivateResult & { switched: boolean }, string>> {
    const { layout, app, kept } = this.o;
    const previous = await currentRelease(layout);
    const target = req.release;
    if (req.expected !== undefined && req.expected !== previous)
      return err(
        `current release is ${previous ?? 'none'}, not the expected ${req.expected ?? 'none'}: another deployment moved this host`,
      );
    if (target !== null && !kept.manifests.has(target)) return err(`release ${target} is not staged here`);
    const spec = req.app ?? app.spec;
    if (target === previous && (app.status().running || !spec)) {
      return ok({ previous, current: target, pid: app.status().pid, switched: false });
    }
    await switchCurrent(layout, target);
    await app.stop();
    let pid: number | null = null;
    const startedAt = performance.now();
    if (target !== null && spec) {
      pid = await app.start({
        cwd: layout.release(target),
        release: target,
        spec,
        extraEnv: { SLIPWAY_RELEASE: target, SLIPWAY_VERSION: kept.manifests.get(target)?.version ?? '' },
      });
    }
    if (target !== null && pid !== null)
      this.o.validator.start({ release: target, pgid: pid, startedAt, request: req.validate });
    if (target !== null) await this.o.times.touch(target, 'activatedAt');
    trace(`activate ${target}: switched`);
    return ok({ previous, current: target, pid, switched: true });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn);
    this.#queue = next.catch(() => {});
    return next;
  }
}
