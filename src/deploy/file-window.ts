/**
 * A file read for chunking through one reused buffer: the bytes `[start, end)` of the buffer are
 * read and not yet consumed (a chunker advances `start`); `fill` keeps them at the front and
 * reads until the buffer is full or the file has ended (`eof`). Reads are positional, from
 * `from` on (a segment of a file chunked in parallel starts in its middle).
 */
import type { FileHandle } from 'node:fs/promises';

export class FileWindow {
  start = 0;
  end = 0;
  eof = false;
  /** The file offset of the next byte to read. */
  #next: number;

  constructor(
    readonly fh: FileHandle,
    readonly buffer: Buffer,
    from = 0,
  ) {
    this.#next = from;
  }

  /** The file offset of `buffer[start]`. */
  get offset(): number {
    return this.#next - (this.end - this.start);
  }

  async fill(): Promise<void> {
    const { buffer } = this;
    if (this.start > 0) {
      buffer.copy(buffer, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end < buffer.length) {
      const { bytesRead } = await this.fh.read(buffer, this.end, buffer.length - this.end, this.#next);
      if (bytesRead === 0) {
        this.eof = true;
        return;
      }
      this.end += bytesRead;
      this.#next += bytesRead;
    }
  }
}
