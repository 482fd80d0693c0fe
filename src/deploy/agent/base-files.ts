/**
 * Files read on the calling thread, each opened once: a delta request's bases (chunk-index.ts),
 * dozens of chunks of one large file, where an open, a read and a close each through the thread
 * pool cost more than the reads.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';

export class BaseFiles {
  readonly #fds = new Map<string, number | null>();

  /**
   * `size` bytes at `offset` of `file` (read into `into` when given, of that size), or undefined
   * when it cannot be opened or is shorter.
   */
  read(file: string, offset: number, size: number, into?: Buffer): Buffer | undefined {
    let fd = this.#fds.get(file);
    if (fd === undefined) {
      try {
        fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch {
        fd = null;
      }
      this.#fds.set(file, fd);
    }
    if (fd === null) return undefined;
    const data = into?.length === size ? into : Buffer.allocUnsafe(size);
    let got = 0;
    try {
      while (got < size) {
        const n = readSync(fd, data, got, size - got, offset + got);
        if (n === 0) return undefined;
        got += n;
      }
    } catch {
      return undefined;
    }
    return data;
  }

  close(): void {
    for (const fd of this.#fds.values()) if (fd !== null) closeSync(fd);
    this.#fds.clear();
  }
}
