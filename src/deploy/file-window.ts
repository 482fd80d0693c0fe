/**
 * A file read for chunking through one reused buffer: the bytes `[start, end)` of the buffer are
 * read and not yet consumed (a chunker advances `start`); `fill` adds the bytes after them, until
 * the file has ended (`eof`). Reads are positional, from `from` on (a segment of a file chunked in
 * parallel starts in its middle).
 *
 * With `keep` (the most bytes a chunker leaves unconsumed when it asks for more, and the fewest
 * it works on) and room for it, the buffer is a pad of `keep` bytes and three regions: while the
 * chunker works on one region (and the end of the one before), the next is being read, so the
 * reading (a copy from the page cache on a thread of libuv's pool, ~25% of a chunking thread's time
 * when it waited for it) overlaps the chunking. When the chunker leaves the last region, what it
 * has left is copied into the pad, just before the first region. Without room, `fill` keeps the
 * bytes left at the front and reads until the buffer is full.
 *
 * Reads in flight write into the buffer: `settle` waits for them before the buffer is reused.
 */
import type { FileHandle } from 'node:fs/promises';

export class FileWindow {
  start = 0;
  end = 0;
  eof = false;
  /** The file offset of the next byte to read. */
  #next: number;
  /** The file offset of `buffer[end]`. */
  #endAt: number;
  /** Size of each of the three regions, 0 without read-ahead. */
  readonly #region: number;
  /** Where the first region starts: after the pad. */
  readonly #pad: number;
  #started = false;
  /** Region reads in flight, in file order: the region and the bytes it got. */
  readonly #ahead: { region: number; got: Promise<number> }[] = [];

  constructor(
    readonly fh: FileHandle,
    readonly buffer: Buffer,
    from = 0,
    keep = 0,
  ) {
    this.#next = from;
    this.#endAt = from;
    // Regions of whole pages where possible; at least `keep` each (a chunker then never works
    // in a region about to be read into).
    const third = Math.floor((buffer.length - keep) / 3);
    const region = third >= 64 * 1024 ? third - (third % 4096) : third;
    this.#region = keep > 0 && region >= keep ? region : 0;
    this.#pad = buffer.length - 3 * this.#region;
  }

  /** The file offset of `buffer[start]`. */
  get offset(): number {
    return this.#endAt - (this.end - this.start);
  }

  async fill(): Promise<void> {
    if (this.eof) return;
    if (this.#region === 0) return this.#fillWhole();
    if (!this.#started) {
      this.#started = true;
      this.#readAhead(0);
    }
    const next = this.#ahead.shift()!;
    const got = await next.got;
    const at = this.#pad + next.region * this.#region;
    if (next.region === 0) {
      const left = this.end - this.start;
      if (left > this.#pad) throw new RangeError('FileWindow: more bytes left than its pad holds');
      this.buffer.copy(this.buffer, this.#pad - left, this.start, this.end);
      this.start = this.#pad - left;
    } else if (this.end !== at) throw new RangeError('FileWindow: filled before its region was read');
    this.end = at + got;
    this.#endAt += got;
    // A region read short: the file ended there.
    if (got < this.#region) this.eof = true;
    // The window now spans the end of the region before and this one: the third is free (the
    // chunker leaves fewer than `keep` bytes, at most a region, when it asks for more).
    else this.#readAhead((next.region + 1) % 3);
  }

  /** Waits for the reads in flight (their failures are fill's to report), so the buffer can be reused. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#ahead.map((a) => a.got));
  }

  #readAhead(region: number): void {
    const at = this.#pad + region * this.#region;
    const got = this.#readInto(at, at + this.#region, this.#next);
    // Failures surface in fill; one never awaited (a run that stopped early) is no unhandled one.
    got.catch(() => {});
    this.#ahead.push({ region, got });
    this.#next += this.#region;
  }

  /** Reads into `buffer[from, to)` from file offset `pos`: the bytes read, fewer at the end of the file. */
  async #readInto(from: number, to: number, pos: number): Promise<number> {
    let at = from;
    while (at < to) {
      const { bytesRead } = await this.fh.read(this.buffer, at, to - at, pos + (at - from));
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return at - from;
  }

  async #fillWhole(): Promise<void> {
    const { buffer } = this;
    if (this.start > 0) {
      buffer.copy(buffer, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    const got = await this.#readInto(this.end, buffer.length, this.#next);
    this.end += got;
    this.#next += got;
    this.#endAt += got;
    if (this.end < buffer.length) this.eof = true;
  }
}
