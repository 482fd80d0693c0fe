/**
 * A scripted `TaskRunner` for in-process executor tests: no process, no clock. Each task follows
 * a script of attempts (exit code, signal, hang until released or cancelled, hang into its
 * timeout); the runner records the order in which attempts start and end.
 */
import type { Attempt, RunRequest, TaskRunner } from '../../src/exec/task-runner.js';

/** One attempt: exit with a code (default 0), die of a signal, or hang. */
export interface Step {
  exit?: number;
  signal?: NodeJS.Signals;
  output?: string;
  /** Wait for `release(id)` (or the run's cancellation) before ending as above. */
  hold?: boolean;
  /** Never end by itself: report a timeout once the task's `timeoutMs` passes. */
  hang?: boolean;
}

export class FakeRunner implements TaskRunner {
  /** "start id" and "end id", in the order they happened. */
  readonly log: string[] = [];
  readonly requests: RunRequest[] = [];
  readonly #script: Record<string, Step | Step[]>;
  readonly #attempts = new Map<string, number>();
  readonly #held = new Map<string, () => void>();
  readonly #waiters: { id: string; resolve: () => void }[] = [];

  constructor(script: Record<string, Step | Step[]> = {}) {
    this.#script = script;
  }

  attempts(id: string): number {
    return this.#attempts.get(id) ?? 0;
  }

  /** Ids whose attempt has started and not ended. */
  running(): string[] {
    const open = new Set<string>();
    for (const l of this.log) {
      const [what, id] = l.split(' ') as [string, string];
      if (what === 'start') open.add(id);
      else open.delete(id);
    }
    return [...open];
  }

  /** Lets a held attempt end. */
  release(id: string): void {
    const r = this.#held.get(id);
    if (!r) throw new Error(`${id} is not held`);
    this.#held.delete(id);
    r();
  }

  /** Resolves once an attempt of `id` has started (at once if one has). */
  started(id: string): Promise<void> {
    if (this.log.includes(`start ${id}`)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ id, resolve }));
  }

  async run(req: RunRequest): Promise<Attempt> {
    const n = (this.#attempts.get(req.taskId) ?? 0) + 1;
    this.#attempts.set(req.taskId, n);
    this.requests.push(req);
    const s = this.#script[req.taskId];
    const step: Step = (Array.isArray(s) ? s[Math.min(n, s.length) - 1] : s) ?? {};
    this.log.push(`start ${req.taskId}`);
    for (const w of this.#waiters.filter((x) => x.id === req.taskId)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
    if (step.output) req.onOutput('stdout', step.output);
    const ended = await this.#wait(req, step);
    this.log.push(`end ${req.taskId}`);
    return ended;
  }

  async #wait(req: RunRequest, step: Step): Promise<Attempt> {
    const stats = { durationMs: 1, cpuSeconds: 0, peakRssBytes: 0 };
    const cancelled: Attempt = { exitCode: null, ...stats, failure: { reason: 'cancelled' } };
    if (step.hold || step.hang) {
      const how = await new Promise<'released' | 'aborted' | 'timeout'>((resolve) => {
        if (req.signal?.aborted) return resolve('aborted');
        req.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
        if (step.hold) this.#held.set(req.taskId, () => resolve('released'));
        else if (req.timeoutMs !== undefined) setTimeout(() => resolve('timeout'), req.timeoutMs);
      });
      this.#held.delete(req.taskId);
      if (how === 'aborted') return cancelled;
      if (how === 'timeout') {
        return { exitCode: null, ...stats, failure: { reason: 'timeout', ms: req.timeoutMs ?? 0 } };
      }
    } else {
      // End on a later turn of the event loop, as a process would: what starts together overlaps.
      await new Promise((r) => setImmediate(r));
    }
    if (step.signal) return { exitCode: null, ...stats, failure: { reason: 'signal', signal: step.signal } };
    const code = step.exit ?? 0;
    return code === 0
      ? { exitCode: 0, ...stats }
      : { exitCode: code, ...stats, failure: { reason: 'exit-non-zero', code } };
  }
}
