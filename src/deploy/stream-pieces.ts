/**
 * The Buffers of a readable byte stream one by one, as they arrived. A Readable's own async
 * iterator takes them with `read()`, which joins everything buffered into a fresh Buffer: on a
 * transfer the receiver is slower than loopback, so nearly every received byte was copied into
 * a new allocation before the frame parser (wire.ts) even looked at it.
 */
import type { Readable } from 'node:stream';

/**
 * Yields `stream`'s pieces in order; pauses the stream while `highWater` bytes wait, so a slow
 * consumer still holds the sender back. Ends with the stream; throws its error, or a premature
 * close; leaving the loop early destroys the stream (as a Readable's own iterator does).
 */
export async function* piecesOf(
  stream: Readable,
  highWater = 1024 * 1024,
): AsyncGenerator<Buffer, void, void> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (piece: Buffer | string) => {
    const b = typeof piece === 'string' ? Buffer.from(piece) : piece;
    queue.push(b);
    queued += b.length;
    if (queued >= highWater) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (e: Error) => {
    failure ??= e;
    notify();
  };
  const onClose = () => {
    if (!ended) failure ??= new Error('the stream closed before its end');
    notify();
  };
  stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  try {
    for (;;) {
      const b = queue.shift();
      if (b) {
        queued -= b.length;
        if (queued < highWater && stream.isPaused()) stream.resume();
        yield b;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    if (!ended) stream.destroy();
  }
}
