/**
 * When each kept release was last staged and activated (the agent's state.json): what rollback
 * goes back to, the order pruning removes releases in, and the times status reports.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from '../../state/atomic-write.js';
import type { ReleaseId } from '../types.js';

export interface ReleaseTime {
  stagedAt: number;
  activatedAt?: number;
}

interface State {
  releases: Record<string, ReleaseTime>;
}

export class ReleaseTimes {
  #state: State = { releases: {} };

  private constructor(readonly file: string) {}

  /** Reads the file; a missing or unreadable one starts empty (its releases are pruned first). */
  static async load(file: string): Promise<ReleaseTimes> {
    const t = new ReleaseTimes(file);
    try {
      t.#state = JSON.parse(await readFile(file, 'utf8')) as State;
    } catch {
      t.#state = { releases: {} };
    }
    return t;
  }

  /** The times of `id`, if any were written. */
  of(id: ReleaseId): ReleaseTime | undefined {
    return this.#state.releases[id];
  }

  /** When `id` was last staged or activated (epoch ms; 0: never). */
  usedAt(id: ReleaseId): number {
    const s = this.#state.releases[id];
    return Math.max(s?.activatedAt ?? 0, s?.stagedAt ?? 0);
  }

  /** Among `ids`, the most recently activated one other than `except`. */
  lastActivated(ids: Iterable<ReleaseId>, except: ReleaseId | null): ReleaseId | undefined {
    const at = (id: ReleaseId) => this.#state.releases[id]?.activatedAt;
    return [...ids]
      .filter((id) => id !== except && at(id) !== undefined)
      .sort((a, b) => (at(b) ?? 0) - (at(a) ?? 0))[0];
  }

  /**
   * Sets `field` of `id` to now and saves; with `save` false only notes it, for the next write
   * (an activation right after) to save: lost in a crash before, the release is pruned first.
   */
  async touch(id: ReleaseId, field: 'stagedAt' | 'activatedAt', save = true): Promise<void> {
    const s = this.#state.releases[id] ?? { stagedAt: Date.now() };
    s[field] = Date.now();
    this.#state.releases[id] = s;
    if (save) await this.#save();
  }

  /** Forgets releases about to be removed, saving only when there are any. */
  async forget(ids: ReleaseId[]): Promise<void> {
    for (const id of ids) delete this.#state.releases[id];
    if (ids.length > 0) await this.#save();
  }

  async #save(): Promise<void> {
    await writeAtomic(this.file, JSON.stringify(this.#state));
  }
}
