/**
 * A worker's slots, cpu and memory. A job takes a slot and what it asks for only when they fit
 * now (`take`); nothing waits in here, so a worker never holds a job it cannot start (the picker,
 * job-picker.ts, skips to a smaller one instead). A request larger than the whole worker is cut
 * to the whole worker (it runs alone), as the local executor does with a task larger than the
 * machine. A slot is freed when the command ends, before its outputs are uploaded.
 */
export interface Request {
  cpu: number;
  memory: number;
}

export class ResourcePool {
  #slots: number;
  #cpu: number;
  #memory: number;
  #waiters: (() => void)[] = [];

  constructor(
    readonly slots: number,
    readonly cpu: number,
    readonly memory: number,
  ) {
    this.#slots = slots;
    this.#cpu = cpu;
    this.#memory = memory;
  }

  /** The request as this worker can grant it: cut to the whole worker. */
  clamp(r: Request): Request {
    return { cpu: Math.min(r.cpu, this.cpu), memory: Math.min(r.memory, this.memory) };
  }

  /** Whether a slot is free. */
  get slotFree(): boolean {
    return this.#slots > 0;
  }

  /** Whether a slot and the (clamped) request are free now. */
  fits(r: Request): boolean {
    const w = this.clamp(r);
    return this.#slots > 0 && w.cpu <= this.#cpu + 1e-9 && w.memory <= this.#memory;
  }

  /** Takes a slot and the request if they fit now: the release (idempotent), or undefined. */
  take(r: Request): (() => void) | undefined {
    if (!this.fits(r)) return undefined;
    const w = this.clamp(r);
    this.#slots--;
    this.#cpu -= w.cpu;
    this.#memory -= w.memory;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#slots++;
      this.#cpu += w.cpu;
      this.#memory += w.memory;
      for (const wake of this.#waiters.splice(0)) wake();
    };
  }

  /** Resolves at the next release. */
  released(): Promise<void> {
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Slots in use. */
  get busySlots(): number {
    return this.slots - this.#slots;
  }

  /** The share of cpu in use, 0..1. */
  get busy(): number {
    return this.cpu ? 1 - this.#cpu / this.cpu : 0;
  }
}
