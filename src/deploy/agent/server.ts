/**
 * The agent's HTTP API (node:http). Every /v1 route needs the agent's bearer token, except chunk
 * fetches, which also accept the read-only grants a relay hands to its neighbours.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { roomForDeploy } from '../../util/small-heap.js';
import { trace } from '../../util/trace.js';
import { bearer, HttpError, readJson, sendError, sendJson, tokenMatches } from '../http.js';
import { validateManifest } from '../manifest.js';
import { applyManifestDelta } from '../manifest-delta.js';
import { DEPLOY_PROTOCOL, NO_BASE } from '../protocol.js';
import type { ChunkId, ReleaseId } from '../types.js';
import { CODECS, type Encoding, encodeFrame, localCodecs } from '../wire.js';
import { decodeFrames, FrameDecodeError } from '../wire-decode.js';
import { loadZstd } from '../zstd.js';
import type { Agent } from './agent.js';
import { deployExchange, type HoldRequest } from './deploy-exchange.js';
import { LOCK_HEADER } from './deploy-lock.js';
import { IdleMemory } from './idle-memory.js';
import { preloadNativeAddon } from './native-addon.js';
import {
  activateBody,
  appOf,
  chunkIdsBody,
  copyAheadBody,
  fetchBody,
  grantBody,
  lockBody,
  lockHolder,
  parseBody,
  prepareBody,
  rollbackBody,
  stageBody,
  unlockBody,
} from './requests.js';
import { streamExchange } from './stream-exchange.js';

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

/** The requests after which a deploy is over: the memory it took is given back once idle (idle-memory.ts). */
const DEPLOY_ENDS = new Set(['POST /v1/activate', 'POST /v1/deploy', 'POST /v1/rollback']);

/** Builds the request handler for an agent. */
function agentHandler(agent: Agent, limits: AgentLimits = DEFAULT_LIMITS): Handler {
  const missingBody = chunkIdsBody(limits.ids);
  const fetchSchema = fetchBody(limits.ids);

  /** The caller's lock, refused with 409 when another deployment holds this host. */
  function holderOf(req: IncomingMessage): string | undefined {
    const h = req.headers[LOCK_HEADER];
    if (h === undefined) return undefined;
    const parsed = lockHolder.safeParse(h);
    if (!parsed.success) throw new HttpError(400, `bad ${LOCK_HEADER} header`);
    return parsed.data;
  }
  /** `take` (deploy-exchange.ts): the lock taken for the caller, as POST /v1/lock takes it. */
  function mayChange(req: IncomingMessage, take?: HoldRequest): string | undefined {
    const holder = holderOf(req);
    if (take && holder) {
      // Since when by the agent's clock (a POST /v1/lock body says it in its owner).
      const since = new Date().toISOString().slice(11, 19);
      const r = agent.lock.acquire({ holder, owner: `${take.owner}, since ${since}`, ttlMs: take.ttlMs });
      if (!r.ok) throw new HttpError(409, `this host is ${r.error}`);
      return holder;
    }
    const refused = agent.lock.refuses(holder);
    if (refused) throw new HttpError(409, `this host is ${refused}`);
    return holder;
  }

  const routes: Record<string, Handler> = {
    // With the codecs this agent can decode and send (wire.ts), for an operator asking why not zstd.
    'GET /v1/status': async (_req, res) =>
      sendJson(res, 200, { ...(await agent.status()), codecs: localCodecs() }),

    'GET /v1/app/validation': async (_req, res) => sendJson(res, 200, { validation: agent.validator.latest }),

    'POST /v1/chunks/missing': async (req, res) => {
      const { ids } = parseBody(missingBody, await readJson(req, limits.jsonBytes), 'chunks/missing');
      sendJson(res, 200, { missing: agent.missing(ids as ChunkId[]) });
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
      trace('stage request');
      const body = parseBody(stageBody, await readJson(req, limits.jsonBytes), 'stage');
      trace('stage request read');
      if ((body.protocol ?? 1) > DEPLOY_PROTOCOL)
        throw new HttpError(
          400,
          `the deployer speaks deploy protocol ${body.protocol}, this agent ${DEPLOY_PROTOCOL}: run the same Slipway version on both (upgrade the agent)`,
        );
      const holder = mayChange(req);
      let manifest: unknown = body.manifest;
      if (body.manifestDelta) {
        const base = agent.manifestOf(body.manifestDelta.base as ReleaseId);
        // The deployer then sends the whole manifest.
        if (!base)
          throw new HttpError(409, `${NO_BASE}: release ${body.manifestDelta.base} is not kept here`);
        const rebuilt = applyManifestDelta(base, body.manifestDelta);
        if (!rebuilt.ok) throw new HttpError(400, `manifest delta refused: ${rebuilt.error}`);
        manifest = rebuilt.value;
      }
      // Refuse a bad manifest with a status code before the progress stream starts.
      const checked = validateManifest(manifest);
      if (!checked.ok) throw new HttpError(400, `manifest refused: ${checked.error}`);
      trace('stage manifest checked');
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      let last = 0;
      const request = {
        release: body.release,
        manifest,
        sources: body.sources,
        bases: body.bases as Record<ChunkId, ChunkId[]> | undefined,
        holder,
      };
      const r = await agent.stage(request, (p) => {
        const now = Date.now();
        if (now - last < 100) return;
        last = now;
        res.write(`${JSON.stringify({ type: 'progress', ...p })}\n`);
      });
      res.end(
        `${JSON.stringify(r.ok ? { type: 'done', result: r.value } : { type: 'error', message: r.error })}\n`,
      );
    },

    // A first release staged while its manifest is being made (stream-exchange.ts). Optional: a
    // deployer that gets a 404 here (an older agent) stages as before.
    'POST /v1/stage-stream': streamExchange(agent, limits.jsonBytes, mayChange),

    // A redeploy to a lone host in one exchange (deploy-exchange.ts). Optional: a deployer that
    // gets a 404 here (an older agent) stages and activates as before.
    'POST /v1/deploy': deployExchange(agent, limits.jsonBytes, mayChange),

    // A deployer starting: the twin check of the current release, taken while it walks its
    // artifact (twins.ts). Answered first, with what tells the deployer whether to send a first
    // release's outline (deploy.ts) and whether this agent takes a streamed stage's part lines
    // (stream-feed.ts; a deployer sends them only then), and whether it decodes a zstd body
    // there (where zstd loads); optional (an older agent's 404 changes nothing).
    'POST /v1/twin-check': async (_req, res) => {
      const answer = { checking: true, protocol: DEPLOY_PROTOCOL, releases: agent.releaseCount };
      sendJson(res, 202, { ...answer, streamParts: true, streamZstd: loadZstd() !== undefined });
      await agent.precheckTwin().catch(() => false);
    },

    // Optional: a deployer that gets a 404 here (an older agent) just stages as before.
    'POST /v1/prepare': async (req, res) => {
      const body = parseBody(prepareBody, await readJson(req, limits.jsonBytes), 'prepare');
      mayChange(req);
      const r = agent.prepare(body.outline);
      if (!r.ok) throw new HttpError(400, `outline refused: ${r.error}`);
      // A first release comes: 20,000 files' garbage (small-heap.ts).
      if (r.value) roomForDeploy();
      sendJson(res, 200, { prepared: r.value });
    },

    // A deployer that found large files changed in place, before it chunks them: their earlier
    // versions are copied meanwhile (copies-ahead.ts). Answered first; optional (an older
    // agent's 404 changes nothing).
    'POST /v1/copy-ahead': async (req, res) => {
      const body = parseBody(copyAheadBody, await readJson(req, 1024 * 1024), 'copy-ahead');
      mayChange(req);
      sendJson(res, 202, { copying: true });
      await agent.copyAhead(body.paths, body.shifted).catch(() => 0);
    },

    'POST /v1/grant': async (req, res) => {
      const body = parseBody(grantBody, await readJson(req, 64 * 1024), 'grant');
      mayChange(req);
      const maxChunk = Math.min(body.maxChunk ?? 256 * 1024, 64 * 1024 * 1024);
      const ttlMs = body.ttlMs === undefined ? undefined : Math.min(body.ttlMs, 24 * 3_600_000);
      agent.addGrant(body.token, body.sources, maxChunk, ttlMs);
      sendJson(res, 200, { ok: true });
    },

    'POST /v1/activate': async (req, res) => {
      trace('activate request');
      const body = parseBody(activateBody, await readJson(req, 1024 * 1024), 'activate');
      mayChange(req);
      const app = appOf(body.app);
      const r = await agent.activate({
        release: body.release as ReleaseId | null,
        app,
        keep: body.keep,
        expected: body.expected as ReleaseId | null | undefined,
        ...(body.validate ? { validate: body.validate } : {}),
      });
      if (r.ok) sendJson(res, 200, r.value);
      else sendJson(res, 409, { error: r.error });
    },

    'POST /v1/rollback': async (req, res) => {
      const body = parseBody(rollbackBody, await readJson(req, 64 * 1024), 'rollback');
      mayChange(req);
      const r = await agent.rollback(
        body.to as ReleaseId | null | undefined,
        body.expected as ReleaseId | null | undefined,
      );
      if (r.ok) sendJson(res, 200, r.value);
      else sendJson(res, 409, { error: r.error });
    },

    'POST /v1/lock': async (req, res) => {
      const body = parseBody(lockBody, await readJson(req, 64 * 1024), 'lock');
      const r = agent.lock.acquire(body);
      if (r.ok) sendJson(res, 200, r.value);
      else sendJson(res, 409, { error: `this host is ${r.error}`, holder: agent.lock.current });
    },

    'POST /v1/unlock': async (req, res) => {
      const body = parseBody(unlockBody, await readJson(req, 64 * 1024), 'unlock');
      agent.lock.release(body.holder);
      sendJson(res, 200, { ok: true });
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
    const body = parseBody(fetchSchema, await readJson(req, limits.jsonBytes), 'chunks/fetch');
    const ids = body.ids as ChunkId[];
    const encoding: Encoding = body.encoding ?? 'deflate';
    const mine = localCodecs();
    const codecs = CODECS.filter((c) => mine.includes(c) && body.codecs?.includes(c));
    const via = grant ?? { sources: [], maxChunk: 64 * 1024 * 1024 };
    // One upstream request for everything absent; frames stream out as chunks arrive.
    if (grant) void agent.prefetch(agent.missing(ids), via);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    for (const id of ids) {
      const data = await agent.chunkFor(id, via);
      if (!data) break; // the receiver sees the missing ids and tries its next source
      if (!res.write(await encodeFrame(id, data, encoding, codecs))) await once(res, 'drain');
    }
    res.end();
  }

  const idle = new IdleMemory(() => agent.pruned());
  return async (req, res) => {
    idle.begin();
    let ended = false;
    try {
      const url = new URL(req.url ?? '/', 'http://agent');
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
      const token = bearer(req);
      if (req.method === 'POST' && url.pathname === '/v1/chunks/fetch')
        return await fetchChunks(req, res, token);
      const route = routes[`${req.method} ${url.pathname}`];
      if (!tokenMatches(token, agent.token)) throw new HttpError(401, 'missing or wrong token');
      if (!route) throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
      ended = DEPLOY_ENDS.has(`${req.method} ${url.pathname}`);
      await route(req, res);
    } catch (e) {
      if (e instanceof HttpError) sendError(res, e.status, e.message);
      else sendError(res, 500, (e as Error).message);
    } finally {
      idle.end(ended);
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
  // Loaded now, while nothing waits: with a first deploy's first file it cost 5-20 ms of the
  // main thread that deploy waited on (CPU profiles of the web build's).
  preloadNativeAddon();
  return server;
}
