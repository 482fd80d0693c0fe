import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { causeOf } from './chunk-client.js';
import { bodyText, httpCall, isOk } from './http-call.js';

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<URL> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('httpCall', () => {
  it('sends method, headers and body, and hands back status and body', async () => {
    const base = await serve(async (req, res) => {
      const body = await bodyText(req);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization, body }));
    });
    const res = await httpCall(new URL('/v1/x?a=1', base), {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      body: '{"é":1}',
    });
    expect(res.statusCode).toBe(201);
    expect(isOk(res)).toBe(true);
    expect(JSON.parse(await bodyText(res))).toEqual({
      method: 'POST',
      url: '/v1/x?a=1',
      auth: 'Bearer t',
      body: '{"é":1}',
    });
  });

  it('resolves with an error status as an answer, not a rejection', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(409);
      res.end('{"error":"held"}');
    });
    const res = await httpCall(new URL('/v1/lock', base), { method: 'GET', headers: {} });
    expect(isOk(res)).toBe(false);
    expect(res.statusCode).toBe(409);
    expect(await bodyText(res)).toBe('{"error":"held"}');
  });

  it('streams a body that arrives in pieces', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('{"type":"progress"}\n');
      setTimeout(() => res.end('{"type":"done"}\n'), 20);
    });
    const res = await httpCall(new URL('/v1/stage', base), { method: 'POST', headers: {}, body: 'x' });
    const pieces: string[] = [];
    for await (const p of res) pieces.push(String(p));
    expect(pieces.join('')).toBe('{"type":"progress"}\n{"type":"done"}\n');
  });

  it('rejects when nothing listens, with the socket error as the cause', async () => {
    const base = await serve(() => {});
    const url = new URL('/v1/status', base);
    const s = servers.pop()!;
    await new Promise((r) => s.close(r));
    await expect(httpCall(url, { method: 'GET', headers: {} })).rejects.toSatisfy((e) =>
      /ECONNREFUSED/.test(causeOf(e)),
    );
  });

  it('gives up after its timeout, body included', async () => {
    // Answers the head, then never finishes the body.
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('part');
    });
    const res = await httpCall(new URL('/slow', base), { method: 'GET', headers: {}, timeoutMs: 100 });
    await expect(bodyText(res)).rejects.toBeDefined();
    const silent = await serve(() => {});
    await expect(
      httpCall(new URL('/silent', silent), { method: 'GET', headers: {}, timeoutMs: 100 }),
    ).rejects.toSatisfy((e) => /timeout/i.test(causeOf(e)));
  });

  it('waits for an answer that pauses midway', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200);
      res.write('a');
      setTimeout(() => res.end('b'), 1000);
    });
    const res = await httpCall(new URL('/slow', base), { method: 'POST', headers: {}, body: '{}' });
    expect(await bodyText(res)).toBe('ab');
  });

  it('makes each call on a connection of its own, closed after it', async () => {
    const seen: (string | undefined)[] = [];
    const base = await serve((req, res) => {
      seen.push(req.headers.connection);
      res.end('ok');
    });
    let connections = 0;
    servers[servers.length - 1]!.on('connection', () => connections++);
    for (let i = 0; i < 3; i++) {
      const res = await httpCall(new URL('/v1/status', base), { method: 'GET', headers: {} });
      expect(await bodyText(res)).toBe('ok');
    }
    expect(seen).toEqual(['close', 'close', 'close']);
    expect(connections).toBe(3);
  });

  it('gives up when its signal aborts', async () => {
    const base = await serve(() => {});
    const ac = new AbortController();
    const call = httpCall(new URL('/x', base), { method: 'GET', headers: {}, signal: ac.signal });
    ac.abort();
    await expect(call).rejects.toBeDefined();
  });
});
