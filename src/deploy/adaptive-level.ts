/**
 * How hard the origin compresses a bulk transfer (a first deploy), chosen while it runs from what
 * is the bottleneck, in the spirit of `zstd --adapt`: a slow link gets zstd 3, a link (or a
 * receiver) that outpaces the compressor gets raw chunks.
 *
 * Which of the three is the bottleneck, from how busy each end's event loop was over the last
 * window (at least 16 frames and 50 ms of the transfer):
 * - the receiver busy (its load since its previous request, `x-slipway-load`, sent by a receiver
 *   that lists `adapt` among its codecs): less compression, whatever the socket says. On loopback
 *   a receiver busy decompressing fills the socket, and compressing more would add to its work.
 * - the origin busy (its own event loop, reading and compressing): less compression.
 * - both mostly idle: the link is what they wait for, so more compression.
 * Not the socket's backpressure: kernel buffers on both sides of a slow link take megabytes
 * before a write waits, and a busy receiver causes it as well as a slow link. Until the
 * receiver's first report the level only steps down (or holds).
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { trace } from '../util/trace.js';

/** A zstd level, or raw. */
export type Level = number | 'none';

/** What the origin may do with bulk transfers (`origin.compression` in the environment). */
export type CompressionSetting = 'auto' | Level;

/** The rungs stepped through: raw, a fast negative level, 1 (the old fixed choice), 3. */
const LADDER: readonly Level[] = ['none', -5, 1, 3];
/** Where a transfer starts: level 1, what a first deploy always used before. */
const START = 2;
/** A window: at least this many frames and milliseconds. */
const WINDOW_FRAMES = 16;
const WINDOW_MS = 50;
/** A load at or over which an end is the bottleneck; under IDLE it mostly waits. */
const BUSY = 0.75;
const IDLE = 0.5;

/** Frames and bytes sent at one level, for tests and traces. */
export interface LevelUse {
  frames: number;
  rawBytes: number;
  wireBytes: number;
}

/** One transfer's level, stepped from the load of both ends. */
export class AdaptiveLevel {
  #rung = START;
  #frames = 0;
  #at = performance.now();
  #elu: EventLoopUtilization = performance.eventLoopUtilization();
  #load: number | undefined;
  /** When this transfer was last heard of (the origin forgets old ones). */
  lastSeen = performance.now();

  /** The level for the next frame. */
  get level(): Level {
    return LADDER[this.#rung]!;
  }

  /** The receiver's load (0-1) reported at a request's start; out-of-range values are ignored. */
  hear(load: number | undefined): void {
    this.lastSeen = performance.now();
    if (load !== undefined && Number.isFinite(load) && load >= 0 && load <= 1) this.#load = load;
  }

  /** A frame was made; once a window has passed, the level steps from this process's load. */
  frameMade(): void {
    if (++this.#frames < WINDOW_FRAMES) return;
    const now = performance.now();
    if (now - this.#at < WINDOW_MS) return;
    const busy = performance.eventLoopUtilization(this.#elu).utilization;
    this.#elu = performance.eventLoopUtilization();
    this.#at = now;
    this.#frames = 0;
    this.decide(busy);
  }

  /** Steps the level from the origin's load over the window (and the receiver's last report). */
  decide(originLoad: number): void {
    const load = this.#load;
    let step = 0;
    if ((load !== undefined && load >= BUSY) || originLoad >= BUSY) step = -1;
    else if (load !== undefined && load < IDLE && originLoad < IDLE) step = 1;
    const was = this.level;
    this.#rung = Math.max(0, Math.min(LADDER.length - 1, this.#rung + step));
    if (this.level !== was)
      trace(
        `compression ${was} -> ${this.level} (origin load ${originLoad.toFixed(2)}, receiver ${load ?? '?'})`,
      );
  }
}

/** The pinned levels a setting may name (the environment's schema says the same). */
const MIN_LEVEL = -10;
const MAX_LEVEL = 19;

/** `auto`, `none` or a zstd level from -10 to 19 (the `--compression` flag); undefined if not. */
export function parseCompression(s: string): CompressionSetting | undefined {
  if (s === 'auto' || s === 'none') return s;
  if (!/^-?\d{1,2}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= MIN_LEVEL && n <= MAX_LEVEL ? n : undefined;
}

/** Parses the receiver's load header; undefined when absent or not a number in 0-1. */
export function parseLoad(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/.test(header)) return undefined;
  return Number(header);
}
