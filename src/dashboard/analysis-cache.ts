/**
 * Remembers the SLI, capacity, deploy-window and release views per pipeline (and options) while the
 * pipeline's history is unchanged (the store's fingerprint, compared at most once a second) and
 * for at most a minute: each reads weeks of history, which a page reload should not repeat.
 */
import type { Store } from '../store/store.js';

const MAX_AGE_MS = 60_000;
const CHECK_MS = 1000;

interface Entry {
  fingerprint: string;
  at: number;
  checked: number;
  value: Promise<unknown>;
}

export class AnalysisCache {
  readonly #entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async get<T>(pipeline: string, key: string, build: (now: number) => Promise<T>): Promise<T> {
    const k = `${pipeline}\0${key}`;
    const e = this.#entries.get(k);
    const t = performance.now();
    if (e && t - e.checked < CHECK_MS) return e.value as Promise<T>;
    const fingerprint = await this.store.dashboard.historyFingerprint(pipeline);
    const at = this.now();
    if (e && e.fingerprint === fingerprint && at - e.at < MAX_AGE_MS) {
      e.checked = t;
      return e.value as Promise<T>;
    }
    const value = build(at);
    this.#entries.set(k, { fingerprint, at, checked: t, value });
    value.catch(() => this.#entries.delete(k));
    // Bounded: pipelines × a few option sets; drop the oldest past 100.
    if (this.#entries.size > 100) this.#entries.delete(this.#entries.keys().next().value!);
    return value;
  }
}
