/**
 * Server-Sent Events fed by polling the store: what another process (a `slipway run` writing its
 * task rows as they start and end) changed appears here without any channel between the two
 * processes, on SQLite and PostgreSQL alike. An event is sent only when the value changed.
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';

export interface LiveSource<T> {
  /** Reads the current value; `done` ends the stream after sending it. */
  read(): Promise<{ data: T; done: boolean }>;
  /** Equal keys mean nothing changed. */
  key(data: T): string;
  pollMs?: number | undefined;
}

const DEFAULT_POLL_MS = 250;

export function liveStream<T>(c: Context, src: LiveSource<T>): Response {
  const pollMs = src.pollMs ?? DEFAULT_POLL_MS;
  return streamSSE(c, async (stream) => {
    let closed = false;
    stream.onAbort(() => {
      closed = true;
    });
    let last: string | undefined;
    let id = 0;
    while (!closed) {
      const { data, done } = await src.read();
      const k = src.key(data);
      if (k !== last) {
        last = k;
        await stream.writeSSE({
          event: done ? 'done' : 'update',
          data: JSON.stringify(data),
          id: String(id++),
        });
      } else if (id % 40 === 0) {
        // A comment now and then keeps proxies from closing an idle stream.
        await stream.write(': keep-alive\n\n');
      }
      if (done) break;
      await stream.sleep(pollMs);
    }
  });
}
