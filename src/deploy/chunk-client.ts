/**
 * Pulls chunks from an origin or a relay agent over HTTP (`POST /v1/chunks/fetch`), through
 * `node:http` (http-call.ts): the answer's frames are read from the socket's Buffers as they
 * come, not through fetch's web streams (a promise per piece and their garbage).
 */
import { constants, gzipSync } from 'node:zlib';
import { err, ok, type Result } from '../util/result.js';
import { streamCall } from './body-stream.js';
import { FramePool } from './frame-pool.js';
import { httpCall } from './http-call.js';
import type { ReceiverLoad } from './receiver-load.js';
import { piecesOf } from './stream-pieces.js';
import type { ChunkId } from './types.js';
import { type Codec, type Encoding, localCodecs } from './wire.js';
import { decodeFrameBatches } from './wire-decode.js';
import type { DeltaRequest } from './wire-delta.js';

export interface ChunkSourceRef {
  /** Base URL of the origin or of a relay agent. */
  url: string;
  token: string;
}

/**
 * The buffers chunks are decompressed into, shared by every transfer of this process: each goes
 * back once its chunk is stored, for a later one. A fresh buffer per chunk was one of the agent's
 * main allocations (100 MB of the 200 MB file's first deploy), and V8 collects whenever such
 * external memory has grown by some tens of megabytes.
 */
const decoded = new FramePool();

/**
 * Why a fetch failed: the transfer (another source, or another try, may do better) or storing a
 * chunk on this host (a full disk: asking again cannot help).
 */
export interface FetchFailure {
  where: 'transfer' | 'store';
  message: string;
}

const transferFailed = (message: string) => err<FetchFailure>({ where: 'transfer', message });

/** Fetches `ids` from one source; `onChunk` stores each verified chunk as it arrives. */
export async function fetchChunks(opts: {
  source: ChunkSourceRef;
  ids: ChunkId[];
  maxChunk: number;
  encoding?: Encoding;
  /** Codecs this receiver can decode, offered to the source (default: those that load here). */
  codecs?: readonly Codec[];
  /** Chunks wanted as deltas against bases this receiver has, and those bases' bytes. */
  deltas?: DeltaRequest[];
  base?: (id: ChunkId) => Buffer | undefined;
  /**
   * Given, the origin may adapt its compression to the bottleneck (adaptive-level.ts): `adapt`
   * is listed among the codecs (a source that does not know it ignores it) and this process's
   * load is reported with the request.
   */
  load?: ReceiverLoad;
  signal?: AbortSignal;
  /**
   * Stores a verified chunk. `data` is lent: valid until the promise returned settles (or until
   * the call returns, when it returns none), then reused for a later chunk: copy what is kept.
   */
  onChunk: (id: ChunkId, data: Buffer, wireBytes: number) => Promise<void> | void;
}): Promise<Result<void, FetchFailure>> {
  const wanted = new Set(opts.ids);
  const codecs = opts.codecs ?? localCodecs();
  const headers = {
    authorization: `Bearer ${opts.source.token}`,
    'content-type': 'application/json',
    'content-encoding': 'gzip',
    ...opts.load?.headers(),
  };
  // Gzipped (every origin and agent reads gzipped bodies): hex ids and base64 checksums are
  // a third of a delta request's bytes (127 KB -> 87 KB for the bench's 10% web edit). A request
  // of ids alone (a first deploy's: 1.3 MB of hex for 20,000 chunks) has no repeats worth
  // looking for: Huffman coding alone makes it smaller than level 6 does, three times faster.
  const idsOnly = !opts.deltas?.length;
  const body = gzipSync(
    JSON.stringify({
      ids: opts.ids,
      encoding: opts.encoding ?? 'br',
      ...(codecs.length ? { codecs: opts.load ? [...codecs, 'adapt'] : codecs } : {}),
      // Without the base ids: the source needs only the checksums (a tenth of a delta request).
      ...(opts.deltas?.length ? { deltas: opts.deltas.map(({ base: _, ...d }) => d) } : {}),
    }),
    idsOnly ? { level: 1, strategy: constants.Z_HUFFMAN_ONLY } : { level: 6 },
  );
  const url = new URL('/v1/chunks/fetch', opts.source.url);
  let answer: { status: number; pieces: AsyncIterable<Buffer> };
  try {
    // Plain HTTP through one reused read buffer (body-stream.ts); HTTPS through node:https.
    if (url.protocol === 'http:')
      answer = await streamCall(url, { headers, body, signal: opts.signal, buffers: decoded });
    else {
      const res = await httpCall(url, { method: 'POST', headers, body, signal: opts.signal });
      answer = { status: res.statusCode ?? 0, pieces: piecesOf(res) };
    }
  } catch (e) {
    return transferFailed(`cannot reach ${opts.source.url}: ${causeOf(e)}`);
  }
  if (answer.status < 200 || answer.status >= 300) {
    const text = await textOf(answer.pieces).catch(() => '');
    return transferFailed(`${opts.source.url} answered ${answer.status}: ${text.slice(0, 200)}`);
  }
  // Chunks are stored while the next ones arrive (a few writes in flight, in any order): counted,
  // with one waiter for a free slot (a Promise.race over the writes in flight per frame added a
  // reaction to each of them every time).
  let writing = 0;
  let failed: { e: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settled = () => {
    writing--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  const slot = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  // Deltas that did not rebuild their chunk stay wanted: the caller asks for them whole.
  let refused = 0;
  const onRefused = (id: ChunkId) => {
    if (wanted.has(id)) refused++;
  };
  try {
    // The socket's Buffers as they came (stream-pieces.ts), not joined by the stream's iterator.
    // A batch of frames per socket read: one step of the generator each, not one per frame.
    const batches = decodeFrameBatches(answer.pieces, opts.maxChunk, opts.base, onRefused, decoded);
    for await (const batch of batches)
      for (const frame of batch) {
        if (!wanted.delete(frame.id)) return transferFailed(`${opts.source.url} sent an unrequested chunk`);
        const { data } = frame;
        let w: Promise<void> | void;
        try {
          w = opts.onChunk(frame.id, data, frame.wireBytes);
        } catch (e) {
          failed ??= { e };
          throw e;
        }
        if (w) {
          writing++;
          w.then(
            () => {
              decoded.give(data);
              settled();
            },
            (e: unknown) => {
              failed ??= { e };
              settled();
            },
          );
        } else decoded.give(data);
        while (writing >= 16 && !failed) await slot();
        if (failed) throw failed.e;
      }
    while (writing > 0) await slot();
    if (failed) throw failed.e;
  } catch (e) {
    while (writing > 0) await slot();
    // Storing a chunk here failed (a full disk, say): this host's fault, not the transfer's.
    if (failed)
      return err({
        where: 'store',
        message: `storing chunks from ${opts.source.url} failed: ${storeCause(failed.e)}`,
      });
    return transferFailed(`transfer from ${opts.source.url} broke off: ${causeOf(e)}`);
  }
  if (refused)
    return transferFailed(`${refused} chunk deltas from ${opts.source.url} did not rebuild their chunks`);
  if (wanted.size) return transferFailed(`${opts.source.url} did not send ${wanted.size} of the chunks`);
  return ok(undefined);
}

/** An error answer's text (its first 64 KB). */
async function textOf(pieces: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const p of pieces) {
    parts.push(Buffer.from(p));
    n += p.length;
    if (n > 64 * 1024) break;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Why storing failed, with what to do where the error's code says (a full disk, a quota). */
function storeCause(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? ' (the disk is full there: free some space, then deploy again)'
      : '';
  return `${causeOf(e)}${hint}`;
}

/** The innermost message of an error (an abort or undici's fetch nests the reason in `cause`). */
export function causeOf(e: unknown): string {
  let cur: unknown = e;
  let msg = String(e);
  for (let i = 0; i < 4 && cur instanceof Error; i++) {
    msg = cur.message;
    cur = (cur as Error & { cause?: unknown }).cause;
  }
  return msg;
}
