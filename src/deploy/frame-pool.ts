/**
 * Reused buffers for the origin's frames. Every chunk sent is a frame of its own, garbage once
 * the socket has taken it and the cache (origin.ts) has let it go; a first deploy of 200 MB makes
 * ~3,000 of them, and V8 frees such buffers only when it collects, which it does when their sum
 * has grown by tens of megabytes: the deployer's peak RSS was mostly frames awaiting collection.
 * Here a frame whose last user is done goes back to a free list and carries the next frame.
 *
 * A buffer is handed out in steps of `STEP` bytes (a frame's length rounded up), so one of the
 * same step fits the next frame of about its size. The free list keeps at most `maxFree` bytes;
 * the rest is left to the collector. A frame that is never given back (a request cut short) is
 * simply collected: giving back is an optimisation, never a duty.
 *
 * A buffer may have several users (a receiver's read slab and the chunks lent as views of it,
 * body-stream.ts): each more user `hold`s it, each gives it back once, and it is free again when
 * the last one has.
 */
const STEP = 16 * 1024;

export class FramePool {
  readonly #free = new Map<number, Buffer[]>();
  /** The buffers this pool made: only those come back to it. */
  readonly #mine = new WeakSet<ArrayBufferLike>();
  /** Users beyond the first of buffers held (hold), until given back. */
  readonly #more = new Map<ArrayBufferLike, number>();
  #freeBytes = 0;
  /** Frames served from a reused buffer (for tests and traces). */
  reused = 0;

  constructor(readonly maxFree = 8 * 1024 * 1024) {}

  /** `n` bytes in a buffer of this pool: a reused one of the same step when there is one. */
  take(n: number): Buffer {
    const size = Math.ceil(n / STEP) * STEP;
    const spare = this.#free.get(size)?.pop();
    if (spare) {
      this.#freeBytes -= size;
      this.#mine.add(spare.buffer);
      this.reused++;
      return spare.subarray(0, n);
    }
    const b = Buffer.allocUnsafeSlow(size);
    this.#mine.add(b.buffer);
    return b.subarray(0, n);
  }

  /** One more user of `b`'s buffer (a view of it lent on), who gives it back too; none for a foreign one. */
  hold(b: Buffer): void {
    const ab = b.buffer;
    if (this.#mine.has(ab)) this.#more.set(ab, (this.#more.get(ab) ?? 0) + 1);
  }

  /** Takes back a frame nothing will read again (its socket write done, out of every cache). */
  give(frame: Buffer): void {
    const ab = frame.buffer;
    if (!this.#mine.has(ab)) return;
    const more = this.#more.get(ab);
    if (more !== undefined) {
      if (more > 1) this.#more.set(ab, more - 1);
      else this.#more.delete(ab);
      return;
    }
    const size = ab.byteLength;
    if (this.#freeBytes + size > this.maxFree) return;
    // Out of the set: a frame given back twice must not enter the free list twice.
    this.#mine.delete(ab);
    this.#freeBytes += size;
    let list = this.#free.get(size);
    if (!list) {
      list = [];
      this.#free.set(size, list);
    }
    list.push(Buffer.from(ab, 0, size));
  }
}
