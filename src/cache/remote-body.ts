/**
 * Remote cache bodies are compressed: zstd where this Node.js has it (22.15+), gzip otherwise.
 * The server stores opaque bytes (turbo's own artifacts are zstd-compressed tarballs), so the
 * compression is part of the body, not a `Content-Encoding`: it survives any compatible server,
 * and the signature covers the bytes as sent. Downloads are recognised by their magic number;
 * a body with neither (an upload from a Slipway before compression) is taken as it is.
 * Both directions run on libuv's thread pool, so a large artifact never blocks the scheduler; at
 * most two at a time, so the pool (four threads by default) keeps room for the file reads and
 * writes of hashing, archiving and restoring.
 */
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

type Codec = (buf: Buffer, options: { maxOutputLength?: number }) => Promise<Buffer>;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

// zstd arrived in Node.js 22.15 / 23.8; the types of Node.js 20 do not know it.
const z = zlib as unknown as Record<string, unknown>;
const zstdCompress =
  typeof z.zstdCompress === 'function' ? (promisify(z.zstdCompress as never) as Codec) : undefined;
const zstdDecompress =
  typeof z.zstdDecompress === 'function' ? (promisify(z.zstdDecompress as never) as Codec) : undefined;
const gzip = promisify(zlib.gzip) as Codec;
const gunzip = promisify(zlib.gunzip) as Codec;

const MAX_AT_ONCE = 2;
let running = 0;
const waiting: (() => void)[] = [];

/** Runs `job` once fewer than MAX_AT_ONCE (de)compressions are running. */
async function limited<T>(job: () => Promise<T>): Promise<T> {
  // A finishing job hands its slot straight to the next waiter, so the count never overshoots.
  if (running < MAX_AT_ONCE) running++;
  else await new Promise<void>((r) => waiting.push(r));
  try {
    return await job();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/** What uploads use on this Node.js. */
export const REMOTE_COMPRESSION: 'zstd' | 'gzip' = zstdCompress ? 'zstd' : 'gzip';

/** The body to upload for an entry. */
export function compressBody(entry: Buffer): Promise<Buffer> {
  return limited(() => (zstdCompress ? zstdCompress(entry, {}) : gzip(entry, {})));
}

/** The entry inside a downloaded body; throws (a damaged or unreadable body) with a sentence. */
export async function decompressBody(body: Buffer): Promise<Buffer> {
  // A decompression bomb stops at the largest buffer Node.js can hold, as an error.
  const limit = { maxOutputLength: bufferConstants.MAX_LENGTH };
  if (startsWith(body, GZIP_MAGIC)) return limited(() => gunzip(body, limit));
  if (startsWith(body, ZSTD_MAGIC)) {
    const unzstd = zstdDecompress;
    if (!unzstd) throw new Error('the artifact is zstd-compressed and this Node.js cannot read zstd');
    return limited(() => unzstd(body, limit));
  }
  return body;
}

function startsWith(body: Buffer, magic: Buffer): boolean {
  return body.length >= magic.length && body.subarray(0, magic.length).equals(magic);
}
