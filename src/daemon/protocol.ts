/**
 * What travels over a daemon socket. The client writes lines of JSON: first one `Request`, then,
 * once its command is accepted, the signals it received (`{"signal":"SIGINT"}`). The daemon
 * answers in frames: one type byte, a 32-bit big-endian length, the payload, so stdout and
 * stderr bytes pass through unchanged and in order.
 */

/** Everything a command needs from the client's process to run as if it were that process. */
export interface RunRequest {
  kind: 'run';
  /** The build that sent it (util/build-id.ts): a daemon of another build refuses. */
  build: string;
  /** The checkout (pipeline folder) the command is for: a daemon serves only its own. */
  root: string;
  /** The user's arguments (argv without node and the script). */
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdout: TtyFacts;
  stderr: TtyFacts;
  /** When the client process started (ms since the epoch), so SLIPWAY_TRACE counts from there. */
  startedAt: number;
}

export interface TtyFacts {
  isTTY: boolean;
  columns?: number;
}

/** `slipway daemon status` and `stop`. */
export interface ControlRequest {
  kind: 'status' | 'stop';
}

export type Request = RunRequest | ControlRequest;

/** What `slipway daemon status` shows. */
export interface DaemonStatus {
  pid: number;
  root: string;
  socket: string;
  build: string;
  startedAt: number;
  served: number;
  /** Spares loaded and waiting for a command. */
  ready: number;
}

export const Frame = {
  /** A spare process took the command: from here on, the client forwards signals. */
  accepted: 0x61,
  /** The daemon will not serve this request: `{"reason"}` (the client runs it itself). */
  refused: 0x72,
  stdout: 0x6f,
  stderr: 0x65,
  /** The command ended: `{"code"}`. */
  exit: 0x78,
  /** An answer to a control request (JSON). */
  reply: 0x73,
} as const;

/** Encodes one frame. */
export function frame(type: number, payload: string | Uint8Array): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a byte stream into frames, calling `on` for each complete one. */
export function frameReader(on: (type: number, payload: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 5) {
      const len = buf.readUInt32BE(1);
      if (buf.length < 5 + len) break;
      on(buf[0]!, buf.subarray(5, 5 + len));
      buf = buf.subarray(5 + len);
    }
  };
}

/** Splits a byte stream into lines of JSON, calling `on` for each (a line that is not JSON is dropped). */
export function lineReader(on: (message: unknown) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      try {
        on(JSON.parse(line));
      } catch {}
    }
  };
}
