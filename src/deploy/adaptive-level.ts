/**
 * How hard the origin compresses a bulk transfer (a first deploy), chosen while it runs from what
 * is the bottleneck, in the spirit of `zstd --adapt`: a slow link gets zstd 3, a link (or a
 * receiver) that outpaces the compressor gets raw chunks.
 *
 * Per window of the transfer (at least 16 frames and 25 ms), from three measures: how busy the
 * receiver's event loop was (its load since its previous request, `x-slipway-load`, sent by a
 * receiver that lists `adapt` among its codecs), how busy the origin's was, and how long the
 * transfer's requests waited for their socket to drain (or for the egress cap):
 * - the receiver busy (its last two reports averaged): less compression, though the socket be
 *   full. On loopback a receiver busy decompressing is what fills the socket, and compressing
 *   more would add to its work (decompressing costs it about the same at any level: raw is
 *   where this ends). Not while the requests wait on their sockets nearly all the time: then
 *   the link is slow, and a receiver busy with its files (a first deploy's) gains nothing from
 *   more bytes.
 * - the origin busy and the socket not full: the compressor is the bottleneck, less compression.
 * - the receiver idle, and the origin idle or its socket full: both wait for the link, more.
 * The socket alone says little: kernel buffers on both sides of a slow link take megabytes before
 * a write waits, and a busy receiver fills it as well as a slow link does; the origin's load alone
 * neither (it bursts when requests arrive together, and counts the deployer's other work). A
 * transfer starts at level 1, the old fixed choice. Before the receiver's first report (its
 * second request: a first deploy of 20,000 files sent ~600 ms at level 1 waiting for it) only the
 * origin's own bottleneck steps the level, and only down: a compressor busy while its socket
 * drains is never the link's fault; raising the level waits for the receiver's word.
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { trace } from '../util/trace.js';

/** A zstd level, or raw. */
export type Level = number | 'none';

/** What the origin may do with bulk transfers (`origin.compression` in the environment). */
export type CompressionSetting = 'auto' | Level;

/** The rungs stepped through: raw, a fast negative level, 1 (the old fixed choice), 3. */
const LADDER: readonly Level[] = ['none', -5, 1, 3];
const START = 2;
/**
 * Where a transfer starts when the origin's thread was busy since the last one began (or since
 * the origin started): raw, where the first windows would have stepped it (the origin busy, its
 * socket not full). A first release streamed while the walk chunks it is served on the walk's
 * thread (stage-stream.ts), which is then the bottleneck: started at zstd 1, the 200 MB file's
 * first deploy stepped 1 -> -5 -> none in its first ~100 ms, ~45 ms of that thread's time in
 * compressing and copying frames. A slow link still steps it up (its socket saturated).
 */
const BUSY_START = 0;
/** A window: at least this many frames and milliseconds. */
const WINDOW_FRAMES = 16;
const WINDOW_MS = 25;
/** A load at or over which an end is the bottleneck; under IDLE it mostly waits. */
const BUSY = 0.75;
const IDLE = 0.5;
/**
 * Shares of the window the transfer's requests waited for their sockets (on average): over FULL
 * the socket is full; over SATURATED they waited nearly all the time, which on loopback a busy
 * receiver did not cause in the measurements (web and big first deploys: at most 0.73, mostly
 * under 0.3), and a link at a 20 MB/s cap always did (0.8-1.1).
 */
const FULL = 0.2;
const SATURATED = 0.8;

/** Frames and bytes sent at one level, for tests and traces. */
export interface LevelUse {
  frames: number;
  rawBytes: number;
  wireBytes: number;
}

/** What one window showed. */
export interface Window {
  /** The origin's event-loop load. */
  origin: number;
  /** The share of the window the transfer's requests waited for their sockets (on average). */
  socket: number;
  /** Bulk transfers the origin was answering at the window's end, this one included (default 1). */
  transfers?: number;
}

/** One transfer's level, stepped from the load of both ends and the origin's socket waits. */
export class AdaptiveLevel {
  #rung: number;
  #frames = 0;
  #socketMs = 0;
  #at = performance.now();
  #elu: EventLoopUtilization = performance.eventLoopUtilization();
  #load: number | undefined;
  /** Requests of the transfer being answered. */
  requests = 0;
  /** When this transfer was last heard of (the origin forgets old ones). */
  lastSeen = performance.now();

  /**
   * `start`: the rung of the ladder it begins at; `transfers`: how many bulk transfers the origin
   * answers now, this one included.
   */
  constructor(
    start = START,
    readonly transfers: () => number = () => 1,
  ) {
    this.#rung = start;
  }

  /** The level for the next frame. */
  get level(): Level {
    return LADDER[this.#rung]!;
  }

  /** The receiver's load (0-1) reported at a request's start; out-of-range values are ignored. */
  hear(load: number | undefined): void {
    this.lastSeen = performance.now();
    if (load === undefined || !Number.isFinite(load) || load < 0 || load > 1) return;
    // Averaged with the report before: one busy moment (a burst of files, a GC) on a slow link
    // is not taken for a busy receiver.
    this.#load = this.#load === undefined ? load : (this.#load + load) / 2;
  }

  /** A request of the transfer waited `ms` for its socket to drain or for the egress cap. */
  socketWait(ms: number): void {
    this.#socketMs += ms;
  }

  /** A frame was made; once a window has passed, the level steps from what it showed. */
  frameMade(): void {
    if (++this.#frames < WINDOW_FRAMES) return;
    const now = performance.now();
    const ms = now - this.#at;
    if (ms < WINDOW_MS) return;
    const origin = performance.eventLoopUtilization(this.#elu).utilization;
    this.#elu = performance.eventLoopUtilization();
    this.decide({
      origin,
      socket: this.#socketMs / ms / Math.max(1, this.requests),
      transfers: this.transfers(),
    });
    this.#at = now;
    this.#frames = 0;
    this.#socketMs = 0;
  }

  /**
   * Whether the origin's own thread is the busy one while its socket is merely full (not
   * saturated): then an idle receiver is not evidence of a slow link. On loopback, a receiver
   * that waits for its own writes (a first deploy's files, on the thread pool or the disk) or for
   * a core reports itself idle while its socket fills, and each step up made the origin, already
   * busy with the walk on the same thread, compress harder still: the 200 MB file's first deploy
   * went none -> -5 -> 1 -> 3 and back several times (traces, load 11-15), zstd 3 on
   * a walk's thread. A slow link keeps the requests waiting on their sockets nearly all the time
   * (SATURATED: 0.8-1.1 at a 20 MB/s cap), and still steps up. Measured (scripts/deploy-ab.mjs
   * first, load 9-15): the 200 MB file B/A 1.075 (6 pairs, CPU -1%) and 0.785 (8 pairs, CPU -6%);
   * the web build 0.85 (6 pairs, CPU -3%). A link of middling speed whose origin is busy walking
   * (socket waits 0.2-0.8) now keeps its level where it stepped up before: more bytes there.
   *
   * Saturated waits do not count either while the busy origin answers other transfers too: a
   * request's wait for its socket then includes its turns on the one thread the others keep
   * busy, and says nothing of the link. Six agents on loopback fetching a first deploy at once
   * (scripts/deploy-fan-ab.mjs) showed waits of 0.9-1.6 with the origin at 1.00, and stepped up
   * to -5 and back: up to 1,000 frames per deploy compressed on the thread all six wait for
   * (pinned raw instead, the deployer's CPU 770 -> 680 and 775 -> 715 ms, medians of 5 and 6
   * pairs). A slow link shared by several transfers leaves the origin waiting, not busy: it still
   * steps up (its socket full, the origin idle); while a streamed walk keeps the origin busy it
   * holds its level. Measured (deploy-fan-ab.mjs, load 3-6): 8 pairs wall 0.91, CPU 0.93 (the
   * deployer's 800 -> 720 ms); cold, 5 pairs, wall 0.77, CPU 0.93.
   */
  #ownBusy(w: Window): boolean {
    return w.origin >= BUSY && (w.socket < SATURATED || (w.transfers ?? 1) > 1);
  }

  /** Steps the level from a window (and the receiver's last report). */
  decide(w: Window): void {
    const load = this.#load;
    const full = w.socket >= FULL;
    const was = this.level;
    if ((load !== undefined && load >= BUSY && w.socket < SATURATED) || (w.origin >= BUSY && !full))
      this.#rung = Math.max(0, this.#rung - 1);
    else if (load !== undefined && load < IDLE && (w.origin < IDLE || (full && !this.#ownBusy(w))))
      this.#rung = Math.min(LADDER.length - 1, this.#rung + 1);
    if (this.level !== was)
      trace(
        `compression ${was} -> ${this.level} (loads: origin ${w.origin.toFixed(2)}, receiver ${load?.toFixed(2) ?? 'unreported'}; socket waits ${w.socket.toFixed(2)}; transfers ${w.transfers ?? 1})`,
      );
  }
}

/** What a request of a bulk transfer asks of the origin's levels (origin.ts). */
export interface RequestLevel {
  /** The level for the request's next frame. */
  next(): Level;
  /** The request waited `ms` for its socket or the egress cap. */
  socketWait(ms: number): void;
  /** The request is answered (or its asker went away). */
  end(): void;
}

/**
 * The origin's side: one AdaptiveLevel per transfer (the receiver's id in `x-slipway-transfer`:
 * its concurrent requests share it), or the pinned setting; and what was sent at each level.
 */
export class TransferLevels {
  readonly #transfers = new Map<string, AdaptiveLevel>();
  /** Whole frames of bulk transfers sent per level (adapted or pinned). */
  readonly used = new Map<Level, LevelUse>();

  constructor(
    readonly setting: CompressionSetting = 'auto',
    /**
     * The origin's event-loop load since the last call (the first: since this was made), asked
     * when a transfer begins: at BUSY or more it starts at BUSY_START.
     */
    readonly loadSince: () => number = eventLoopLoad(),
  ) {}

  /**
   * The levels of one request: undefined for one that is not a bulk transfer (`bulk`), or when
   * the encoding's own level applies: an asker that does not list `adapt` (an older agent, or a
   * relay's neighbour through it) under `auto`, or a pinned zstd level without zstd at both ends.
   */
  forRequest(
    bulk: boolean,
    zstd: boolean,
    asked: readonly unknown[],
    headers: Record<string, string | string[] | undefined>,
  ): RequestLevel | undefined {
    if (!bulk) return undefined;
    const setting = this.setting;
    if (setting === 'none' || (setting !== 'auto' && zstd))
      return { next: () => setting, socketWait: () => {}, end: () => {} };
    if (setting !== 'auto' || !zstd || !asked.includes('adapt')) return undefined;
    const id = headers['x-slipway-transfer'];
    const a = this.#transfer(typeof id === 'string' && /^[0-9a-f]{8,64}$/.test(id) ? id : undefined);
    a.hear(parseLoad(headers['x-slipway-load']));
    a.requests++;
    return {
      next: () => {
        const level = a.level;
        a.frameMade();
        return level;
      },
      socketWait: (ms) => a.socketWait(ms),
      end: () => {
        a.requests--;
      },
    };
  }

  /** Counts a whole frame sent at `level`. */
  count(level: Level, rawBytes: number, wireBytes: number): void {
    const u = this.used.get(level) ?? { frames: 0, rawBytes: 0, wireBytes: 0 };
    this.used.set(level, u);
    u.frames++;
    u.rawBytes += rawBytes;
    u.wireBytes += wireBytes;
  }

  /** Adapted transfers with a request being answered now. */
  get answering(): number {
    let n = 0;
    for (const t of this.#transfers.values()) if (t.requests > 0) n++;
    return n;
  }

  /** The transfer `id`'s level, made at its first request; transfers unheard of for a minute go. */
  #transfer(id: string | undefined): AdaptiveLevel {
    const now = performance.now();
    for (const [k, t] of this.#transfers) if (now - t.lastSeen > 60_000) this.#transfers.delete(k);
    const known = id === undefined ? undefined : this.#transfers.get(id);
    if (known) return known;
    const t = new AdaptiveLevel(this.loadSince() >= BUSY ? BUSY_START : START, () => this.answering);
    if (id !== undefined) this.#transfers.set(id, t);
    return t;
  }
}

/** This thread's event-loop load since the last call (the first: since this was made). */
function eventLoopLoad(): () => number {
  let since = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const load = performance.eventLoopUtilization(now, since).utilization;
    since = now;
    return load;
  };
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
