/** Small HTTP helpers shared by the agent and the origin: bearer auth, bounded bodies, JSON. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** Constant-time token check: compares SHA-256 digests so lengths leak nothing either. */
export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined || expected.length === 0) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer …` header. */
export function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a whole request body, refusing more than `limit` bytes (before or after gunzip). A
 * gzipped body is read whole, then inflated in one synchronous call: bodies are small (a chunk
 * request's ids), and a zlib stream's thread-pool round trips cost the origin more than the
 * inflating (the 200 MB file's first deploy: ~80 ms of its main thread in zlib stream calls).
 */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limit) {
    throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${limit}`);
  }
  const parts: Buffer[] = [];
  let total = 0;
  try {
    for await (const part of req as AsyncIterable<Buffer>) {
      total += part.length;
      if (total > limit) throw new HttpError(413, `request body exceeds the limit of ${limit} bytes`);
      parts.push(part);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `cannot read the request body: ${(e as Error).message}`);
  }
  const body = Buffer.concat(parts);
  if (req.headers['content-encoding'] !== 'gzip') return body;
  let inflated: Buffer;
  try {
    inflated = gunzipSync(body, { maxOutputLength: limit + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new HttpError(413, `request body exceeds the limit of ${limit} bytes`);
    throw new HttpError(400, `cannot read the request body: ${(e as Error).message}`);
  }
  if (inflated.length > limit) throw new HttpError(413, `request body exceeds the limit of ${limit} bytes`);
  return inflated;
}

/** Parses a JSON body within `limit` bytes. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Ends a request with an error JSON body; drains what the client still sends. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('connection', 'close');
  sendJson(res, status, { error: message });
}
