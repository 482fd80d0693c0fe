import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decompressBody, REMOTE_COMPRESSION } from './remote-body.js';
import { artifactTag, verifyArtifactTag } from './signature.js';
import { TurboRemoteCache } from './turbo-remote-cache.js';

/** turbo's v2 layout, written out independently: each field as u64le length + bytes. */
function turboTag(key: string, fields: (string | Buffer)[]): string {
  const mac = createHmac('sha256', key);
  for (const f of fields) {
    const b = Buffer.from(f);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(b.length));
    mac.update(len).update(b);
  }
  return mac.digest('base64');
}

describe('x-artifact-tag', () => {
  it('is turbo 2.x "artifact-signature:v2": length-prefixed domain, hash, team id and body', () => {
    const body = Buffer.from('artifact bytes');
    const expected = turboTag('k', ['artifact-signature:v2', 'abc123', 'team_x', body]);
    expect(artifactTag('k', 'abc123', 'team_x', body)).toBe(expected);
    expect(verifyArtifactTag('k', 'abc123', 'team_x', body, expected)).toBe(true);
    expect(verifyArtifactTag('other', 'abc123', 'team_x', body, expected)).toBe(false);
    expect(verifyArtifactTag('k', 'abc124', 'team_x', body, expected)).toBe(false);
    expect(verifyArtifactTag('k', 'abc123', 'team_x', Buffer.from('changed'), expected)).toBe(false);
  });

  it('signs a team slug as turbo does: with an empty team id', () => {
    const body = Buffer.from('b');
    expect(artifactTag('k', 'h', 'my-team', body)).toBe(
      turboTag('k', ['artifact-signature:v2', 'h', '', body]),
    );
  });

  it('keeps fields apart: a team id that extends another does not verify', () => {
    const body = Buffer.from('xbody');
    const tag = artifactTag('k', 'h', 'team_a', body);
    expect(verifyArtifactTag('k', 'h', 'team_ax', Buffer.from('body'), tag)).toBe(false);
  });
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A scripted server: answers the n-th request with replies[n] (the last one repeats). */
async function scripted(replies: { status: number; body?: string; headers?: Record<string, string> }[]) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      });
      const r = replies[Math.min(seen.length - 1, replies.length - 1)]!;
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.body ?? '');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('TurboRemoteCache', () => {
  it('uploads with the v8 path, team slug, bearer token, duration and signature', async () => {
    const s = await scripted([{ status: 200, body: '{}' }]);
    const c = new TurboRemoteCache({ url: `${s.url}/`, team: 'acme', token: 'tok', signatureKey: 'key' });
    const body = Buffer.from('payload');
    expect(await c.put('h1', body, 1234.4)).toEqual({ kind: 'ok' });
    const req = s.seen[0]!;
    expect(req.method).toBe('PUT');
    expect(req.url).toBe('/v8/artifacts/h1?slug=acme');
    expect(req.headers.authorization).toBe('Bearer tok');
    expect(req.headers['x-artifact-duration']).toBe('1234');
    expect(req.headers['content-type']).toBe('application/octet-stream');
    // The body goes up compressed, and the tag covers the bytes as sent.
    expect(req.body.equals(body)).toBe(false);
    expect((await decompressBody(req.body)).equals(body)).toBe(true);
    expect(req.body.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(REMOTE_COMPRESSION === 'gzip');
    expect(req.headers['x-artifact-tag']).toBe(artifactTag('key', 'h1', 'acme', req.body));
    const ids = new TurboRemoteCache({ url: s.url, team: 'team_123' });
    await ids.put('h2', body, 1);
    expect(s.seen[1]!.url).toBe('/v8/artifacts/h2?teamId=team_123');
  });

  it('retries 5xx with backoff, then reports an error; a 404 is a miss', async () => {
    const s = await scripted([{ status: 502 }, { status: 503 }, { status: 200, body: 'bytes' }]);
    const c = new TurboRemoteCache({ url: s.url, team: 't' });
    const got = await c.get('h');
    expect(got.kind).toBe('hit');
    expect(s.seen).toHaveLength(3);

    const failing = await scripted([{ status: 500 }]);
    const c500 = new TurboRemoteCache({ url: failing.url, team: 't', retries: 1 });
    expect(await c500.get('h')).toEqual({ kind: 'off' });
    expect(c500.down).toBe('GET failed after 2 attempts: HTTP 500');
    // Off for the rest of the run: nothing more is sent.
    expect(await c500.get('h2')).toEqual({ kind: 'off' });
    expect(await c500.put('h2', Buffer.from('x'), 1)).toEqual({ kind: 'off' });
    expect(failing.seen).toHaveLength(2);

    const none = await scripted([{ status: 404 }]);
    expect(await new TurboRemoteCache({ url: none.url, team: 't' }).get('h')).toEqual({ kind: 'miss' });
  });

  it('does not retry a refused token and says so without the token', async () => {
    const s = await scripted([{ status: 401 }]);
    const c = new TurboRemoteCache({ url: s.url, team: 't', token: 'sekrit' });
    expect((await c.get('h')).kind).toBe('off');
    expect(s.seen).toHaveLength(1);
    expect(c.down).toMatch(/refused the token/);
    expect(c.down).not.toContain('sekrit');
  });

  it('a 413 or 400 is about that artifact only: the client stays in use', async () => {
    const s = await scripted([{ status: 413 }, { status: 400 }, { status: 200, body: 'bytes' }]);
    const c = new TurboRemoteCache({ url: s.url, team: 't' });
    expect(await c.put('big', Buffer.from('x'), 1)).toEqual({
      kind: 'error',
      message: expect.stringMatching(/413/),
    });
    expect(await c.get('odd')).toEqual({ kind: 'error', message: expect.stringMatching(/400/) });
    expect(c.down).toBeUndefined();
    expect((await c.get('fine')).kind).toBe('hit');
    expect(s.seen).toHaveLength(3);
  });

  it('a timeout is not retried: it turns the remote off and aborts the other requests in flight', async () => {
    const seen: string[] = [];
    const server = createServer((req) => {
      seen.push(req.url ?? '');
      req.resume(); // and never answer
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new TurboRemoteCache({ url, team: 't', timeoutMs: 1000 });
    const first = c.get('a');
    // An upload has a longer deadline of its own; it ends when the lookup times out.
    const second = c.put('b', Buffer.from('x'), 1);
    expect(await first).toEqual({ kind: 'off' });
    expect(await second).toEqual({ kind: 'off' });
    expect(c.down).toMatch(/GET got no answer within 1 s/);
    // One try each (or the upload never left): no retry after a timeout.
    expect(seen.length).toBeLessThanOrEqual(2);
    expect(await c.get('c')).toEqual({ kind: 'off' });
    expect(seen.length).toBeLessThanOrEqual(2);
    server.closeAllConnections();
  });

  it('the run signal aborts a pending request at once and is not an outage', async () => {
    const server = createServer((req) => req.resume());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cancel = new AbortController();
    const c = new TurboRemoteCache({ url, team: 't', timeoutMs: 600_000, signal: cancel.signal });
    const pending = c.get('a');
    await new Promise((r) => server.once('request', r));
    cancel.abort();
    expect(await pending).toEqual({ kind: 'off' });
    expect(c.down).toBeUndefined();
    server.closeAllConnections();
  });

  it('refuses a download whose tag is missing or wrong when a key is set', async () => {
    const body = 'bytes';
    const good = artifactTag('key', 'h', 't', Buffer.from(body));
    const s = await scripted([
      { status: 200, body },
      { status: 200, body, headers: { 'x-artifact-tag': good } },
      { status: 200, body: 'tampered', headers: { 'x-artifact-tag': good } },
    ]);
    const c = new TurboRemoteCache({ url: s.url, team: 't', signatureKey: 'key' });
    expect((await c.get('h')).kind).toBe('bad-signature');
    expect((await c.get('h')).kind).toBe('hit');
    expect((await c.get('h')).kind).toBe('bad-signature');
  });
});

describe('remote bodies', () => {
  it('round-trip compressed through a server that stores opaque bytes; old raw bodies still read', async () => {
    const stored = new Map<string, Buffer>();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const key = req.url ?? '';
        if (req.method === 'PUT') {
          stored.set(key.replace(/\?.*/, ''), Buffer.concat(chunks));
          res.end('{}');
        } else {
          const body = stored.get(key.replace(/\?.*/, ''));
          res.writeHead(body ? 200 : 404);
          res.end(body ?? '');
        }
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const c = new TurboRemoteCache({ url, team: 'acme', signatureKey: 'key' });
    const entry = Buffer.from('a line of build output\n'.repeat(2000));
    expect(await c.put('h', entry, 5)).toEqual({ kind: 'ok' });
    const sent = stored.get('/v8/artifacts/h')!;
    expect(sent.length).toBeLessThan(entry.length / 20);
    // The server only has bytes; the tag travels separately, so serve it the way a server does.
    const plain = new TurboRemoteCache({ url, team: 'acme' });
    const got = await plain.get('h');
    expect(got.kind === 'hit' && got.bytes.equals(entry)).toBe(true);
    // A body uploaded before compression (no magic number) is taken as it is.
    stored.set('/v8/artifacts/old', Buffer.from('SLPW raw entry'));
    const old = await plain.get('old');
    expect(old.kind === 'hit' && old.bytes.toString()).toBe('SLPW raw entry');
    // A body that claims gzip but is not: an error about this artifact, not a crash.
    stored.set('/v8/artifacts/bad', Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    expect((await plain.get('bad')).kind).toBe('error');
  });
});
