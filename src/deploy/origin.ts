/**
 * The origin: during `slipway deploy`, an HTTP server that hands the artifact's chunks to agents
 * (or to the first agent of each region when relaying). Each chunk is compressed once and kept
 * while memory allows, since several agents ask for the same ones.
 */
import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CompressionSetting,
  type Level,
  type LevelUse,
  type RequestLevel,
  TransferLevels,
} from './adaptive-level.js';
import type { ChunkLookup, ChunkSource } from './chunk-index.js';
import { ChunkFiles } from './chunk-reads.js';
import { FramePool } from './frame-pool.js';
import { bearer, HttpError, readJson, sendError, tokenMatches } from './http.js';
import { deltaOrWholeFrame, deltaSchemaLoaded } from './origin-deltas.js';
import { pacer } from './pacer.js';
import { type ChunkId, isChunkId } from './types.js';
import {
  CODECS,
  type Codec,
  type Encoding,
  encodeFrameSync,
  FRAME_HEADER,
  localCodecs,
  rawFrameInto,
} from './wire.js';
import type { DeltaRequest } from './wire-delta.js';

/**
 * Frames read and compressed ahead of the socket per request: enough to keep the thread pool's
 * four compressors busy across a few requests; each pending one holds its chunk and a compressor.
 */
const AHEAD = 8;
/**
 * Frames are copied into one buffer of this size and written together: a socket write per frame
 * (2,271 on the web build's first deploy, each a chunk of HTTP's chunked encoding through the
 * stream machinery and a writev) was ~0.15 s of the deployer's CPU, and as many small reads on the
 * asker's side. A frame of half this size or more goes on its own (nothing to gain, a copy to save).
 */
const BATCH = 128 * 1024;
/**
 * Raw frames (a bulk transfer's once adaptive-level.ts sends it raw) are read straight into the
 * batch, so a large one costs no copy there either: they fill batches of this size, whatever
 * their own. Alone, each chunk of 64 KiB or more was a write of its own (~1,500 of the 200 MB
 * file's ~2,800 frames, each a chunk of HTTP's chunked encoding, a writev and a read on the
 * asker's side).
 */
const RAW_BATCH = 512 * 1024;
const ENCODINGS: readonly Encoding[] = ['none', 'deflate', 'br', 'br-fast'];

export interface Origin {
  url: string;
  token: string;
  /** Bytes of chunk frames sent so far (what left the origin). */
  readonly egressBytes: number;
  /** Bytes sent per requesting peer (the remote address), for the summary. */
  readonly requests: number;
  /** Fetch requests being answered now (one whose asker went away is over at its next frame). */
  readonly serving: number;
  /**
   * Whole chunks of bulk transfers sent per zstd level (`none`: raw), as chosen by
   * adaptive-level.ts or pinned by `compression`; other requests are not counted here.
   */
  readonly levels: ReadonlyMap<Level, LevelUse>;
  /**
   * Loads the schema of delta requests now, while the deployer waits for an agent to plan its
   * fetch: the first delta request then finds it loaded instead of waiting 70-80 ms for zod's
   * evaluation on this one thread (call it once a stage request that may ask deltas is sent).
   */
  expectDeltas(): void;
  close(): Promise<void>;
}

/** Starts the origin on host:port (0 = any free port). */
export async function startOrigin(opts: {
  chunks: ChunkLookup;
  token: string;
  host?: string;
  port?: number;
  /** The URL agents use, when it differs from the listening address. */
  publicUrl?: string;
  cacheBytes?: number;
  /** Egress cap in bytes per second, so a deploy does not saturate the uplink. */
  maxRate?: number;
  /** The codecs this origin may send (wire.ts; default: those that load here). */
  codecs?: readonly Codec[];
  /**
   * How whole chunks of bulk transfers (a first deploy's, encoding `br-fast`) are compressed:
   * `auto` (default) adapts the zstd level to the bottleneck for a receiver that reports its
   * load (adaptive-level.ts), a level pins it (`none`: raw). Edits and deltas keep their own.
   */
  compression?: CompressionSetting;
}): Promise<Origin> {
  const mine = opts.codecs ?? localCodecs();
  const pace = pacer(opts.maxRate);
  // Promises, not buffers: six agents asking for the same chunk at once share one compression.
  // Least recently used first out, so agents a few megabytes apart still share their frames.
  const cache = new Map<string, Held>();
  let cached = 0;
  // Enough for agents asking for the same chunks at about the same time; not the whole artifact.
  const budget = opts.cacheBytes ?? 16 * 1024 * 1024;
  const files = new ChunkFiles();
  const pool = new FramePool();
  const alloc = (n: number) => pool.take(n);
  let egress = 0;
  let serving = 0;
  let requests = 0;
  const levels = new TransferLevels(opts.compression);

  /** `use` of a chunk's bytes: those the walk kept (recent-bytes.ts), else read (ChunkFiles.use). */
  function use<T>(id: ChunkId, src: ChunkSource, f: (data: Buffer) => T): Promise<T> {
    const held = opts.chunks.held?.(id, src.size);
    if (!held) return files.use(src, f);
    try {
      return Promise.resolve(f(held));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Gives a frame's buffer back to the pool once no cache holds it and no request still writes it. */
  function release(h: Held): void {
    if (h.users === 0 && !h.cached && h.made) {
      pool.give(h.made);
      h.made = undefined;
    }
  }

  /** The frame of a chunk, from the cache or made now, held for one more user (see release). */
  function frame(id: ChunkId, encoding: Encoding, codecs: readonly Codec[], level?: number): Held {
    const key = `${encoding}:${level ?? ''}:${codecs.join('+')}:${id}`;
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key);
      cache.set(key, hit);
      hit.users++;
      return hit;
    }
    const src = opts.chunks.get(id);
    if (!src) return unheld(Promise.reject(new HttpError(404, `unknown chunk ${id}`)));
    const entry: Held = {
      frame: use(id, src, (data) => encodeFrameSync(id, data, encoding, codecs, alloc, level)),
      bytes: 0,
      users: 1,
      cached: true,
    };
    cache.set(key, entry);
    entry.frame.then(
      (f) => {
        entry.made = f;
        if (cache.get(key) !== entry) return release(entry);
        // What it holds in memory: a pooled frame's buffer is rounded up (frame-pool.ts).
        entry.bytes = f.buffer.byteLength;
        cached += entry.bytes;
        for (const [k, e] of cache) {
          if (cached <= budget) break;
          cache.delete(k);
          cached -= e.bytes;
          e.cached = false;
          release(e);
        }
      },
      () => {
        entry.cached = false;
        if (cache.get(key) === entry) cache.delete(key);
      },
    );
    return entry;
  }

  /** A delta against the asker's base when it is smaller than the compressed chunk (never cached). */
  async function deltaOrWhole(
    id: ChunkId,
    d: DeltaRequest,
    encoding: Encoding,
    codecs: readonly Codec[],
  ): Promise<Buffer> {
    const src = opts.chunks.get(id);
    if (!src) throw new HttpError(404, `unknown chunk ${id}`);
    // Read into the reused buffer: a fresh one per changed chunk (64 KiB each) was most of what
    // set off the origin's collections during an edit's deltas.
    return files.use(src, (data) => deltaOrWholeFrame(id, data, d, encoding, codecs));
  }

  const server: Server = createServer({ requestTimeout: 0 }, async (req, res) => {
    let counted = false;
    let level: RequestLevel | undefined;
    try {
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://o').pathname !== '/v1/chunks/fetch') {
        throw new HttpError(404, 'not found');
      }
      if (!tokenMatches(bearer(req), opts.token)) throw new HttpError(401, 'missing or wrong token');
      const body = (await readJson(req, 16 * 1024 * 1024)) as {
        ids?: unknown;
        encoding?: unknown;
        deltas?: unknown;
        codecs?: unknown;
      };
      const ids = body.ids;
      if (!Array.isArray(ids) || ids.length > 100_000 || !ids.every(isChunkId))
        throw new HttpError(400, 'bad ids');
      const asked =
        body.deltas === undefined ? undefined : (await deltaSchemaLoaded()).safeParse(body.deltas);
      if (asked && !asked.success) throw new HttpError(400, 'bad deltas');
      const deltas = new Map((asked?.data ?? []).map((d) => [d.id as ChunkId, d as DeltaRequest]));
      const encoding: Encoding = ENCODINGS.includes(body.encoding as Encoding)
        ? (body.encoding as Encoding)
        : 'deflate';
      // What the asker can decode and this origin can send; an unknown name is ignored.
      const codecs = Array.isArray(body.codecs)
        ? CODECS.filter((c) => mine.includes(c) && (body.codecs as unknown[]).includes(c))
        : [];
      // A bulk transfer's level, pinned or adapted (adaptive-level.ts); else the encoding's own.
      level = levels.forRequest(
        encoding === 'br-fast',
        codecs.includes('zstd'),
        Array.isArray(body.codecs) ? body.codecs : [],
        req.headers,
      );
      requests++;
      serving++;
      counted = true;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Read and compress a window ahead of the socket, so disk, zlib and network overlap.
      const ahead: (Held | typeof RAW | undefined)[] = [];
      // The level each frame ahead was made at (undefined: the encoding's).
      const made: (Level | undefined)[] = [];
      const next = (id: ChunkId) => {
        const d = deltas.get(id);
        if (d) return unheld(deltaOrWhole(id, d, encoding, codecs));
        const l = level?.next();
        made.push(l);
        // Raw: read straight into the batch in its turn (wire.ts rawFrameInto), never cached.
        return l === 'none' ? RAW : frame(id, encoding, codecs, l);
      };
      for (let i = 0; i < Math.min(AHEAD, ids.length); i++) ahead.push(next(ids[i]!));
      // Frames waiting in `out` for one write (copies: their own buffers are given back at once).
      let out: Buffer | undefined;
      let fill = 0;
      /** Writes `buf` (paced); false when the asker went away (the rest would never drain). */
      const send = async (buf: Buffer, written: () => void): Promise<boolean> => {
        const t = level ? performance.now() : 0;
        await pace(buf.length);
        if (res.destroyed) {
          written();
          return false;
        }
        if (!res.write(buf, written)) await drainedOrClosed(res);
        level?.socketWait(performance.now() - t);
        // The asker went away (or the origin closed): the rest would wait for a drain that
        // never comes, holding its read-ahead frames until the process ends.
        return !res.destroyed;
      };
      const flush = (): Promise<boolean> | boolean => {
        if (!out || fill === 0) return true;
        const batch = out;
        const n = fill;
        out = undefined;
        fill = 0;
        // Given back once the socket is done with its bytes (written, or the write failed).
        return send(batch.subarray(0, n), () => pool.give(batch));
      };
      let open = true;
      for (let i = 0; i < ids.length && open; i++) {
        const h = ahead[i]!;
        ahead[i] = undefined; // done with once written
        if (h === RAW) {
          const id = ids[i]!;
          const src = opts.chunks.get(id);
          if (!src) throw new HttpError(404, `unknown chunk ${id}`);
          if (i + AHEAD < ids.length) ahead.push(next(ids[i + AHEAD]!));
          const n = FRAME_HEADER + src.size;
          egress += n;
          levels.count(made.shift() ?? 'none', src.size, n);
          // Looked up when read: the walk may read on (into the ring) while a flush awaits.
          const read = (p: Buffer) => {
            const held = opts.chunks.held?.(id, src.size);
            if (held) held.copy(p);
            else files.readSync(src, p);
          };
          if (out && fill + n > out.length && !(await flush())) break;
          out ??= pool.take(Math.max(RAW_BATCH, n));
          fill += rawFrameInto(id, out.subarray(fill), src.size, read).length;
          continue;
        }
        const f = await h.frame;
        if (i + AHEAD < ids.length) ahead.push(next(ids[i + AHEAD]!));
        egress += f.length;
        const l = deltas.has(ids[i]!) ? undefined : made.shift();
        if (l !== undefined) levels.count(l, opts.chunks.get(ids[i]!)?.size ?? 0, f.length);
        // Called once nothing will read the frame's own buffer again.
        const written = () => {
          h.users--;
          release(h);
        };
        // In order: what waits in `out` leaves before a frame that goes on its own.
        const alone = f.length * 2 >= BATCH;
        if ((alone || fill + f.length > BATCH) && !(await flush())) {
          written();
          break;
        }
        if (alone) {
          open = await send(f, written);
          continue;
        }
        out ??= pool.take(BATCH);
        f.copy(out, fill);
        fill += f.length;
        written();
      }
      if (open) await flush();
      res.end();
    } catch (e) {
      sendError(res, e instanceof HttpError ? e.status : 500, (e as Error).message);
    } finally {
      if (counted) serving--;
      level?.end();
    }
  });
  server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address() as AddressInfo;
  return {
    url: opts.publicUrl ?? `http://${addr.address}:${addr.port}`,
    token: opts.token,
    get egressBytes() {
      return egress;
    },
    get requests() {
      return requests;
    },
    get serving() {
      return serving;
    },
    levels: levels.used,
    expectDeltas: () => {
      deltaSchemaLoaded().catch(() => {});
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await files.close();
    },
  };
}

/** A raw frame of a bulk transfer, made when its turn to be written comes. */
const RAW = Symbol('raw');

/** A frame and who needs its bytes: the cache, and requests that have yet to write it. */
interface Held {
  frame: Promise<Buffer>;
  /** The frame once made, until its buffer goes back to the pool. */
  made?: Buffer;
  /** Bytes the cache counts for it. */
  bytes: number;
  users: number;
  cached: boolean;
}

/** A frame outside the cache and the pool (a delta, an error): nothing to give back. */
function unheld(frame: Promise<Buffer>): Held {
  return { frame, bytes: 0, users: 1, cached: false };
}

/**
 * Resolves when `res` can take more bytes, or is closed (its asker gone): never hangs, also when
 * the asker went away before this was called (its 'close' already emitted, a write then refused).
 */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  if (res.destroyed || res.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
