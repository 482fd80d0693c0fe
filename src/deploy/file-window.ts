/**
 * A file read for chunking through one reused buffer: the bytes `[start, end)` of the buffer are
 * read and not yet consumed (a chunker advances `start`); `fill` keeps them at the front and
 * reads until the buffer is full or the file has ended (`eof`).
 */
import type { FileHandle } from 'node:fs/promises';

export class FileWindow {
  start = 0;
  end = 0;
  eof = false;

  constructor(
    readonly fh: FileHandle,
    readonly buffer: Buffer,
  ) {}

  async fill(): Promise<void> {
    const { buffer } = this;
    if (this.start > 0) {
      buffer.copy(buffer, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    while (this.end < buffer.length) {
      const { bytesRead } = await this.fh.read(buffer, this.end, buffer.length - this.end, null);
      if (bytesRead === 0) {
        this.eof = true;
        return;
      }
      this.end += bytesRead;
    }
  }
}
