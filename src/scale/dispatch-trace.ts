/**
 * SLIPWAY_DISPATCH_TRACE=FILE: the coordinator appends one JSON line per job to FILE, saying when
 * each step of it happened, in ms on Redis' clock (redis-clock.ts), which the coordinator and
 * every worker read alike: `queued` (the executor handed the attempt over), `added` (the job is in
 * Redis), the worker's stages (job.ts: taken, checked, spawned, exited, done) and `reported` (its
 * result back here). For profiling dispatch (bench/scale-out.ts reads it); costs nothing when off.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { JobStages } from './job.js';

export interface DispatchRecord {
  taskId: string;
  attempt: number;
  worker?: string;
  queued: number;
  added?: number;
  stages?: JobStages;
  reported: number;
}

export class DispatchTrace {
  readonly #out: WriteStream;

  constructor(file: string) {
    this.#out = createWriteStream(file, { flags: 'a' });
    this.#out.on('error', () => {});
  }

  write(r: DispatchRecord): void {
    this.#out.write(`${JSON.stringify(r)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#out.end(() => resolve()));
  }
}
