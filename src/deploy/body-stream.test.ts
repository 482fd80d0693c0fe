import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { streamCall } from './body-stream.js';
import { FramePool } from './frame-pool.js';

let server: http.Server | undefined;
afterEach(async () => {
  const s = server;
  server = undefined;
  if (!s) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
});

async function serve(handler: http.RequestListener): Promise<URL> {
  server = http.createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chunks/fetch`);
}

async function all(pieces: AsyncIterable<Buffer>, pool: FramePool, seen?: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of pieces) {
    out.push(Buffer.from(p));
    seen?.push(p);
    pool.give(p);
  }
  return Buffer.concat(out);
}

describe('streamCall', () => {
  it('sends the request and reads a chunked answer of many writes, byte for byte', async () => {
    const parts = Array.from({ length: 40 }, (_, i) => randomBytes(1 + i * 7919));
    let got: { method?: string; headers?: http.IncomingHttpHeaders; body?: Buffer } = {};
    const url = await serve(async (req, res) => {
      const body: Buffer[] = [];
      for await (const b of req) body.push(b as Buffer);
      got = { method: req.method, headers: req.headers, body: Buffer.concat(body) };
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (const p of parts) if (!res.write(p)) await new Promise((r) => res.once('drain', r));
      res.end();
    });
    const pool = new FramePool();
    const a = await streamCall(url, {
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: Buffer.from('{"ids":[]}'),
      buffers: pool,
    });
    expect(a.status).toBe(200);
    const seen: Buffer[] = [];
    expect((await all(a.pieces, pool, seen)).equals(Buffer.concat(parts))).toBe(true);
    // Read in place: views of slabs, one read after the other in each, not a buffer per piece.
    expect(seen.some((p) => p.byteOffset > 0)).toBe(true);
    expect(got.method).toBe('POST');
    expect(got.headers?.authorization).toBe('Bearer t');
    expect(got.body?.toString()).toBe('{"ids":[]}');
    // Read into pool buffers, given back and taken again.
    expect(pool.reused).toBeGreaterThan(0);
  });

  it('reads an error answer of a stated length', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('bad token');
    });
    const pool = new FramePool();
    const a = await streamCall(url, { headers: {}, body: Buffer.alloc(0), buffers: pool });
    expect(a.status).toBe(401);
    expect((await all(a.pieces, pool)).toString()).toBe('bad token');
  });

  it('fails the body when the server goes away in the middle of it', async () => {
    const url = await serve((req, res) => {
      res.writeHead(200);
      res.write(randomBytes(100_000));
      setTimeout(() => req.socket.destroy(), 20);
    });
    const pool = new FramePool();
    const a = await streamCall(url, { headers: {}, body: Buffer.alloc(0), buffers: pool });
    await expect(all(a.pieces, pool)).rejects.toThrow(/closed before the end/);
  });

  it('rejects a refused connection and an abort', async () => {
    const url = await serve(() => {});
    const pool = new FramePool();
    const ac = new AbortController();
    const call = streamCall(url, { headers: {}, body: Buffer.alloc(0), buffers: pool, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(call).rejects.toThrow(/stop/);
    const s = server!;
    server = undefined;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
    await expect(streamCall(url, { headers: {}, body: Buffer.alloc(0), buffers: pool })).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });

  it('holds the sender back while the reader is behind, then reads on', async () => {
    const total = 8 * 1024 * 1024;
    const url = await serve(async (_req, res) => {
      res.writeHead(200);
      for (let sent = 0; sent < total; sent += 64 * 1024)
        if (!res.write(Buffer.alloc(64 * 1024, sent / 65536))) await new Promise((r) => res.once('drain', r));
      res.end();
    });
    const pool = new FramePool();
    const a = await streamCall(url, { headers: {}, body: Buffer.alloc(0), buffers: pool });
    let n = 0;
    for await (const p of a.pieces) {
      if (n === 0) await new Promise((r) => setTimeout(r, 100));
      n += p.length;
      pool.give(p);
    }
    expect(n).toBe(total);
  });
});
