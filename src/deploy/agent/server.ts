/**
 * The agent's HTTP API (node:http). Every /v1 route needs the agent's bearer token, except chunk
 * fetches, which also accept the read-only grants a relay hands to its neighbours.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ChunkSourceRef } from '../chunk-client.js';
import { bearer, HttpError, readJson, sendError, sendJson, tokenMatches } from '../http.js';
import { validateManifest } from '../manifest.js';
import { type ChunkId, isChunkId, isReleaseId, type ReleaseId } from '../types.js';
import { decodeFrames, type Encoding, encodeFrame, FrameDecodeError } from '../wire.js';
import type { Agent, StageRequest } from './agent.js';

export interface AgentLimits {
  /** Largest JSON body (the stage request carries the manifest). */
  jsonBytes: number;
  /** Largest chunk upload per request. */
  uploadBytes: number;
  /** Most chunk ids in one request. */
  ids: number;
}

export const DEFAULT_LIMITS: AgentLimits = {
  jsonBytes: 64 * 1024 * 1024,
  uploadBytes: 256 * 1024 * 1024,
  ids: 20_000,
};

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Builds the request handler for an agent. */
export function agentHandler(agent: Agent, limits: AgentLimits = DEFAULT_LIMITS): Handler {
  const routes: Record<string, Handler> = {
    'GET /v1/status': async (_req, res) => sendJson(res, 200, await agent.status()),

    'POST /v1/chunks/missing': async (req, res) => {
      const ids = chunkIds((await readJson(req, limits.jsonBytes)) as { ids?: unknown }, limits.ids);
      sendJson(res, 200, { missing: agent.missing(ids) });
    },

    'PUT /v1/chunks': async (req, res) => {
      let stored = 0;
      let bytes = 0;
      let total = 0;
      const limited = (async function* () {
        for await (const piece of req as AsyncIterable<Buffer>) {
          total += piece.length;
          if (total > limits.uploadBytes)
            throw new HttpError(413, `upload exceeds ${limits.uploadBytes} bytes`);
          yield piece;
        }
      })();
      try {
        for await (const f of decodeFrames(limited, 64 * 1024 * 1024)) {
          await agent.putChunk(f.id, f.data, f.wireBytes);
          stored++;
          bytes += f.wireBytes;
        }
      } catch (e) {
        if (e instanceof FrameDecodeError) throw new HttpError(400, e.message);
        throw e;
      }
      sendJson(res, 200, { stored, bytes });
    },

    'POST /v1/stage': async (req, res) => {
      const body = (await readJson(req, limits.jsonBytes)) as StageRequest;
      if (!body || typeof body !== 'object' || !isReleaseId(body.release))
        throw new HttpError(400, 'bad release id');
      // Refuse a bad manifest with a status code before the progress stream starts.
      const checked = validateManifest(body.manifest);
      if (!checked.ok) throw new HttpError(400, `manifest refused: ${checked.error}`);
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      let last = 0;
      const r = await agent.stage(body, (p) => {
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        res.write(`${JSON.stringify({ type: 'progress', ...p })}\n`);
      });
      res.end(
        `${JSON.stringify(r.ok ? { type: 'done', result: r.value } : { type: 'error', message: r.error })}\n`,
      );
    },

    'POST /v1/grant': async (req, res) => {
      const body = (await readJson(req, 64 * 1024)) as {
        token?: unknown;
        sources?: unknown;
        maxChunk?: unknown;
        ttlMs?: unknown;
      };
      const sources = Array.isArray(body.sources) ? body.sources : [];
      if (typeof body.token !== 'string' || body.token.length < 16 || !sources.every(isSourceRef)) {
        throw new HttpError(
          400,
          'a grant needs a token of at least 16 characters and sources [{ url, token }]',
        );
      }
      const maxChunk =
        typeof body.maxChunk === 'number' ? Math.min(body.maxChunk, 64 * 1024 * 1024) : 256 * 1024;
      const ttlMs = typeof body.ttlMs === 'number' ? Math.min(body.ttlMs, 24 * 3_600_000) : undefined;
      agent.addGrant(body.token, sources, maxChunk, ttlMs);
      sendJson(res, 200, { ok: true });
    },

    'POST /v1/activate': async (req, res) => {
      const body = (await readJson(req, 1024 * 1024)) as {
        release?: unknown;
        app?: { command?: unknown; env?: unknown };
        keep?: unknown;
      };
      const release = body.release === null ? null : isReleaseId(body.release) ? body.release : undefined;
      if (release === undefined) throw new HttpError(400, 'bad release id');
      const app =
        body.app && typeof body.app.command === 'string'
          ? { command: body.app.command, env: stringMap(body.app.env) }
          : undefined;
      const keep = typeof body.keep === 'number' && body.keep >= 1 ? Math.floor(body.keep) : undefined;
      const r = await agent.activate({ release, app, keep });
      if (r.ok) sendJson(res, 200, r.value);
      else sendJson(res, 409, { error: r.error });
    },

    'POST /v1/rollback': async (req, res) => {
      const body = (await readJson(req, 64 * 1024)) as { to?: unknown };
      let to: ReleaseId | null | undefined;
      if (body.to === null) to = null;
      else if (body.to !== undefined) {
        if (!isReleaseId(body.to)) throw new HttpError(400, 'bad release id');
        to = body.to;
      }
      const r = await agent.rollback(to);
      if (r.ok) sendJson(res, 200, r.value);
      else sendJson(res, 409, { error: r.error });
    },
  };

  async function fetchChunks(
    req: IncomingMessage,
    res: ServerResponse,
    token: string | undefined,
  ): Promise<void> {
    const full = token !== undefined && tokenMatches(token, agent.token);
    const grant = full || token === undefined ? undefined : agent.grant(token);
    if (!full && !grant) throw new HttpError(401, 'missing or wrong token');
    const body = (await readJson(req, limits.jsonBytes)) as { ids?: unknown; encoding?: unknown };
    const ids = chunkIds(body, limits.ids);
    const encoding: Encoding = body.encoding === 'br' || body.encoding === 'none' ? body.encoding : 'deflate';
    const via = grant ?? { sources: [], maxChunk: 64 * 1024 * 1024 };
    // One upstream request for everything absent; frames stream out as chunks arrive.
    if (grant) void agent.prefetch(agent.missing(ids), via);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (const id of ids) {
      const data = await agent.chunkFor(id, via);
      if (!data) break; // the receiver sees the missing ids and tries its next source
      if (!res.write(await encodeFrame(id, data, encoding))) await once(res, 'drain');
    }
    res.end();
  }

  return async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
      const token = bearer(req);
      if (req.method === 'POST' && url.pathname === '/v1/chunks/fetch')
        return await fetchChunks(req, res, token);
      const route = routes[`${req.method} ${url.pathname}`];
      if (!tokenMatches(token, agent.token)) throw new HttpError(401, 'missing or wrong token');
      if (!route) throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      await route(req, res);
    } catch (e) {
      if (e instanceof HttpError) sendError(res, e.status, e.message);
      else sendError(res, 500, (e as Error).message);
    }
  };
}

/** Starts an agent's HTTP server on host:port (port 0 picks a free one). */
export async function listenAgent(
  agent: Agent,
  host: string,
  port: number,
  limits?: AgentLimits,
): Promise<Server> {
  const server = createServer({ requestTimeout: 0 }, agentHandler(agent, limits));
  server.listen(port, host);
  await once(server, 'listening');
  return server;
}

function chunkIds(body: { ids?: unknown } | null, max: number): ChunkId[] {
  const ids = body?.ids;
  if (!Array.isArray(ids) || ids.length > max || !ids.every(isChunkId)) {
    throw new HttpError(400, `ids must be a list of at most ${max} SHA-256 chunk ids`);
  }
  return ids;
}

function isSourceRef(v: unknown): v is ChunkSourceRef {
  const s = v as ChunkSourceRef;
  return !!s && typeof s.url === 'string' && /^https?:\/\//.test(s.url) && typeof s.token === 'string';
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}
