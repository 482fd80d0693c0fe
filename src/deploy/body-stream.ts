/**
 * One plain-HTTP/1.1 POST whose answer body is read through a single reused read buffer, for
 * chunk transfers (chunk-client.ts). `node:http` hands the body over as the socket's reads, each
 * a fresh 64 KiB ArrayBuffer: on a first deploy of 200 MB that is ~140 MB of buffers, and V8
 * counts them as external memory against an old-generation limit of ~19 MB (the agent's heap is
 * ~10 MB), so it started a major collection every few megabytes (~20 per 200 MB deploy, ~0.5 s
 * of CPU across the main and helper threads). Here the socket reads straight into slabs of the
 * receive pool (frame-pool.ts; `net.connect`'s `onread`, one read after the other in a slab) and
 * the body's bytes are handed on as views of them, not copied: a slab goes back once every piece
 * of it is read and every chunk lent from it (wire-decode.ts) is given back. Copied out of one
 * shared read buffer instead, each byte was copied twice before its write (here, then a raw
 * chunk out of its piece), ~50 ms of the agent's CPU on a 200 MB first deploy.
 *
 * Only what Slipway's own servers answer is understood: a status line, headers, then a body
 * that is chunked or of a stated length. Anything else fails the call, and a caller may fall
 * back to `node:http`. HTTPS is not handled here.
 */
import net from 'node:net';
import type { FrameBuffers } from './wire.js';

/** The answer's head: past it, the body's bytes come through `pieces`. */
export interface StreamedAnswer {
  status: number;
  /** The body in pieces lent from the pool: each is given back by the reader once read. */
  pieces: AsyncGenerator<Buffer, void, void>;
}

/**
 * The receive pool's buffers the socket reads into, one read after the other; a read gets the
 * rest of the slab while that is at least READ_MIN bytes, else a fresh slab. Large, so that few
 * frames straddle two slabs (those are joined, a copy, wire-decode.ts).
 */
const SLAB = 512 * 1024;
const READ_MIN = 64 * 1024;
/** A longer head is refused (ours are a few hundred bytes). */
const MAX_HEAD = 16 * 1024;
/** Body bytes waiting for the reader before the socket stops reading. */
const HIGH_WATER = 1024 * 1024;

type Body =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'size'; line: string }
  | { kind: 'data'; left: number }
  | { kind: 'crlf'; seen: number }
  | { kind: 'trailer'; line: string }
  | { kind: 'done' };

/**
 * Sends `body` to `url` (http: only) and resolves once the answer's head has arrived. Rejects on
 * a refused connection, an abort, or an answer it does not understand.
 */
export function streamCall(
  url: URL,
  o: { headers: Record<string, string>; body: Buffer; signal?: AbortSignal; buffers: FrameBuffers },
): Promise<StreamedAnswer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  /** Set while the socket does not read (the reader is behind). */
  let stopped = false;
  let state: Body = { kind: 'head' };
  let head = Buffer.alloc(0);
  let answered: ((a: StreamedAnswer) => void) | undefined;
  let refused: ((e: Error) => void) | undefined;
  const fail = (e: Error) => {
    failure ??= e;
    refused?.(failure);
    socket.destroy();
    notify();
  };
  /** A piece of the body: a view of the slab it was read into, one more user of it. */
  const deliver = (seg: Buffer) => {
    if (seg.length === 0) return;
    o.buffers.hold(seg);
    queue.push(seg);
    queued += seg.length;
  };
  /** The slab being read into, and where its next read goes. */
  let slab: Buffer | undefined;
  let slabAt = 0;
  const readInto = (): Buffer => {
    if (!slab || slab.length - slabAt < READ_MIN) {
      // Its pieces hold it still, as long as they are read or lent on.
      if (slab) o.buffers.give(slab);
      slab = o.buffers.take(SLAB);
      slabAt = 0;
    }
    return slab.subarray(slabAt);
  };
  /** Parses `bytes` (a view of the slab just read into) as far as it goes. */
  const parse = (bytes: Buffer): void => {
    let at = 0;
    while (at < bytes.length && !failure) {
      switch (state.kind) {
        case 'head': {
          const joined = head.length ? Buffer.concat([head, bytes.subarray(at)]) : bytes.subarray(at);
          const end = joined.indexOf('\r\n\r\n');
          if (end < 0) {
            if (joined.length > MAX_HEAD) {
              fail(new Error('answer head too long'));
              return;
            }
            head = Buffer.from(joined);
            return;
          }
          const consumed = end + 4 - head.length;
          const parsed = parseHead(joined.subarray(0, end).toString('latin1'));
          head = Buffer.alloc(0);
          if (typeof parsed === 'string') {
            fail(new Error(parsed));
            return;
          }
          state = parsed.body;
          at += consumed;
          answered?.({ status: parsed.status, pieces: bodyPieces(feed) });
          answered = undefined;
          refused = undefined;
          if (state.kind === 'done') finish();
          break;
        }
        case 'length': {
          const n = Math.min(state.left, bytes.length - at);
          deliver(bytes.subarray(at, at + n));
          at += n;
          state.left -= n;
          if (state.left === 0) finish();
          break;
        }
        case 'size':
        case 'trailer': {
          const nl = bytes.indexOf(10, at);
          const upto = nl < 0 ? bytes.length : nl + 1;
          state.line += bytes.toString('latin1', at, upto);
          at = upto;
          if (state.line.length > 1024) {
            fail(new Error('chunk size line too long'));
            return;
          }
          if (nl < 0) break;
          const line = state.line.replace(/\r?\n$/, '');
          if (state.kind === 'trailer') {
            if (line === '') finish();
            else state.line = '';
            break;
          }
          const size = /^[0-9a-fA-F]{1,8}(?:;.*)?$/.test(line) ? Number.parseInt(line, 16) : Number.NaN;
          if (Number.isNaN(size)) {
            fail(new Error('bad chunk size in the answer'));
            return;
          }
          state = size === 0 ? { kind: 'trailer', line: '' } : { kind: 'data', left: size };
          break;
        }
        case 'data': {
          const n = Math.min(state.left, bytes.length - at);
          deliver(bytes.subarray(at, at + n));
          at += n;
          state.left -= n;
          if (state.left === 0) state = { kind: 'crlf', seen: 0 };
          break;
        }
        case 'crlf': {
          const want = state.seen === 0 ? 13 : 10;
          if (bytes[at] !== want) {
            fail(new Error('bad chunk framing in the answer'));
            return;
          }
          at++;
          state.seen++;
          if (state.seen === 2) state = { kind: 'size', line: '' };
          break;
        }
        case 'done': {
          fail(new Error('bytes after the end of the answer'));
          return;
        }
      }
    }
  };
  const finish = () => {
    state = { kind: 'done' };
    ended = true;
    socket.destroy();
    notify();
  };
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const socket = net.connect({
    host,
    port: Number(url.port || 80),
    onread: {
      // Asked for after each read, for the next.
      buffer: readInto,
      callback: (n: number, buf: Uint8Array) => {
        slabAt += n;
        parse(Buffer.from(buf.buffer, buf.byteOffset, n));
        notify();
        // Stops reading while the reader is behind; bodyPieces resumes it.
        stopped = queued >= HIGH_WATER;
        return !stopped;
      },
    },
  });
  socket.on('error', (e) => fail(e));
  socket.on('close', () => {
    if (!ended) fail(new Error('the connection closed before the end of the answer'));
    // Read into no more: the slab is its pieces' alone.
    if (slab) o.buffers.give(slab);
    slab = undefined;
  });
  const onAbort = () => fail(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  socket.once('close', () => o.signal?.removeEventListener('abort', onAbort));

  const feed: PieceFeed = {
    next: () => {
      const b = queue.shift();
      if (b) {
        queued -= b.length;
        if (stopped && queued < HIGH_WATER) {
          stopped = false;
          socket.resume();
        }
      }
      return b;
    },
    failure: () => failure,
    ended: () => ended,
    wait: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      }),
    close: () => {
      if (!ended) socket.destroy();
    },
  };

  const lines = [`POST ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [k, v] of Object.entries(o.headers)) lines.push(`${k}: ${v}`);
  lines.push(`content-length: ${o.body.length}`, 'connection: close', '', '');
  socket.write(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), o.body]));
  return new Promise<StreamedAnswer>((resolve, reject) => {
    if (failure) return reject(failure);
    answered = resolve;
    refused = reject;
    if (o.signal?.aborted) onAbort();
  });
}

/** What an answer's body reader takes from streamCall's state. */
interface PieceFeed {
  /** The next piece, if one waits (the socket reads again once the reader has caught up). */
  next(): Buffer | undefined;
  failure(): Error | undefined;
  ended(): boolean;
  /** Resolves once a piece arrives or the answer ends or fails. */
  wait(): Promise<void>;
  /** The reader is done: the socket is closed unless the answer ended. */
  close(): void;
}

/**
 * An answer's body, piece by piece. At module level, not a generator function made in each
 * streamCall: each such function gives its generators a map of their own (its own prototype), and
 * decodeFrames' `for await` over a map it had not seen was deoptimized and compiled again.
 */
async function* bodyPieces(feed: PieceFeed): AsyncGenerator<Buffer, void, void> {
  try {
    for (;;) {
      const b = feed.next();
      if (b) {
        yield b;
        continue;
      }
      const failure = feed.failure();
      if (failure) throw failure;
      if (feed.ended()) return;
      await feed.wait();
    }
  } finally {
    feed.close();
  }
}

/** Status and body framing of an answer's head; a string says why it is not understood. */
function parseHead(text: string): { status: number; body: Body } | string {
  const [statusLine, ...rest] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine ?? '');
  if (!m) return 'not an HTTP/1.1 answer';
  const headers = new Map<string, string>();
  for (const line of rest) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'bad header line in the answer';
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const te = headers.get('transfer-encoding');
  const cl = headers.get('content-length');
  if (te !== undefined) {
    if (te.toLowerCase() !== 'chunked') return `transfer encoding ${te} not understood`;
    return { status: Number(m[1]), body: { kind: 'size', line: '' } };
  }
  if (cl !== undefined && /^\d{1,15}$/.test(cl)) {
    const left = Number(cl);
    return { status: Number(m[1]), body: left === 0 ? { kind: 'done' } : { kind: 'length', left } };
  }
  return 'an answer without a stated length';
}
