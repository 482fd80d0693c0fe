/**
 * A worker's slots, cpu and memory: a job waits here until what it asks for is free. A request
 * larger than the whole worker is cut to the whole worker (it runs alone), as the local executor
 * does with a task larger than the machine.
 */
export class ResourcePool {
  #cpu: number;
  #memory: number;
  readonly #waiting: { cpu: number; memory: number; go(): void }[] = [];

  constructor(
    readonly cpu: number,
    readonly memory: number,
  ) {
    this.#cpu = cpu;
    this.#memory = memory;
  }

  /** Resolves with a release function once the request fits. */
  async acquire(cpu: number, memory: number): Promise<() => void> {
    const want = { cpu: Math.min(cpu, this.cpu), memory: Math.min(memory, this.memory) };
    if (!this.#waiting.length && this.#fits(want)) this.#take(want);
    else await new Promise<void>((go) => this.#waiting.push({ ...want, go }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#cpu += want.cpu;
      this.#memory += want.memory;
      this.#drain();
    };
  }

  /** The share of cpu in use, 0..1. */
  get busy(): number {
    return this.cpu ? 1 - this.#cpu / this.cpu : 0;
  }

  #fits(w: { cpu: number; memory: number }): boolean {
    return w.cpu <= this.#cpu + 1e-9 && w.memory <= this.#memory;
  }

  #take(w: { cpu: number; memory: number }): void {
    this.#cpu -= w.cpu;
    this.#memory -= w.memory;
  }

  #drain(): void {
    // First come, first served: a big job is not starved by small ones behind it.
    while (this.#waiting.length && this.#fits(this.#waiting[0]!)) {
      const w = this.#waiting.shift()!;
      this.#take(w);
      w.go();
    }
  }
}
