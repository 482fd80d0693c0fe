/** The deployer's side of the agent API. Every call returns a Result; network trouble is a value. */
import type { IncomingMessage } from 'node:http';
import { gzipSync } from 'node:zlib';
import { err, ok, type Result } from '../util/result.js';
import type { AppSpec } from './agent/app.js';
import type { AppValidation, ValidateRequest } from './agent/app-validation.js';
import { HOLD_HEADER, LOCK_HEADER } from './agent/deploy-lock.js';
import type { ActivateResult, DeployLine, StageProgress, StageResult } from './agent/operations.js';
import { type ChunkSourceRef, causeOf } from './chunk-client.js';
import type { FirstChangeHold } from './first-change-hold.js';
import { answerLines, bodyText, httpCall, isOk, refusalText } from './http-call.js';
import type { Manifest } from './manifest.js';
import type { ManifestDelta } from './manifest-delta.js';
import { NO_BASE } from './protocol.js';
import { readStageAnswer } from './stage-answer.js';
import { endingOf, gzipPart, openingText } from './stage-body.js';
import type { StreamFeed, StreamHeader } from './stream-feed.js';
import { type StreamOutcome, sendStream } from './stream-send.js';
import type { ChunkId, ReleaseId } from './types.js';

export interface AgentStatus {
  /** The agent's deploy protocol (protocol.ts); absent on agents from before versioning (1). */
  protocol?: number;
  current: ReleaseId | null;
  releases: { id: ReleaseId; version: string; stagedAt?: number; activatedAt?: number }[];
  app: { running: boolean; pid: number | null; release: string | null; exitCode: number | null };
  chunks: number;
  pooled: number;
  staging: ReleaseId[];
  lock?: { holder: string; owner: string; expiresAt: number } | null;
  /** Codecs beyond zlib's the agent decodes and sends (wire.ts); absent before protocol 4. */
  codecs?: string[];
}

/** The body of POST /v1/deploy (agent/requests.ts `deployBody`). */
export interface DeployRequest {
  protocol: number;
  release: ReleaseId;
  /** Absent when `release` begins with it (`<version>-<12 hex>`, manifest.ts releaseIdOf). */
  version?: string;
  base: ReleaseId;
  chunking?: Manifest['chunking'];
  remove?: string[];
  upsert?: ManifestDelta['upsert'];
  bases?: Record<ChunkId, ChunkId[]>;
  sources?: { url: string; token: string }[];
  keep?: number;
  app?: AppSpec;
  validate?: ValidateRequest;
}

/** How a POST /v1/deploy went (AgentClient.deploy). */
export type DeployExchange =
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'broken'; message: string }
  | { kind: 'answered'; line: Exclude<DeployLine, { type: 'progress' }>; requestBytes: number };

/** Why a lock was refused: another deployment holds the host (wait or give up), or anything else. */
export type LockRefusal = { reason: 'held'; message: string } | { reason: 'error'; message: string };

/** Calls that change the host: made under the deployment's lock (agent/server.ts mayChange). */
const CHANGES = new Set([
  '/v1/stage',
  '/v1/prepare',
  '/v1/copy-ahead',
  '/v1/grant',
  '/v1/activate',
  '/v1/rollback',
]);

export class AgentClient {
  /** The deployment holding this agent's lock; sent with every call that changes the host. */
  holder: string | undefined;
  /** The lock taken when first needed (a lone host's deploy), not before: see first-change-hold.ts. */
  hold: FirstChangeHold | undefined;

  constructor(
    readonly url: string,
    readonly token: string,
    readonly timeoutMs = 30_000,
  ) {}

  /** The token, the lock, and a JSON body's type (which the agent does not read: left out of POST /v1/deploy). */
  #headers(extra: Record<string, string> = {}, json = true): Record<string, string> {
    return {
      authorization: `Bearer ${this.token}`,
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.holder ? { [LOCK_HEADER]: this.holder } : {}),
      ...extra,
    };
  }

  async #call<T>(
    method: string,
    route: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
    onSent?: () => void,
  ): Promise<Result<T, string>> {
    const r = await this.#request<T>(method, route, body, timeoutMs, onSent);
    return r.ok ? r : err(r.error.message);
  }

  async #request<T>(
    method: string,
    route: string,
    body: unknown,
    timeoutMs: number,
    onSent?: () => void,
  ): Promise<Result<T, { status: number; message: string }>> {
    if (this.hold && CHANGES.has(route)) {
      const held = await this.hold.ensure();
      if (!held.ok) return err({ status: 409, message: held.error });
    }
    try {
      const res = await httpCall(new URL(route, this.url), {
        method,
        headers: this.#headers({}, body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
        ...(onSent ? { onSent } : {}),
      });
      const text = await bodyText(res);
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!isOk(res)) {
        const status = res.statusCode ?? 0;
        const msg = (json as { error?: string } | undefined)?.error ?? text.slice(0, 200);
        return err({ status, message: `${this.url} answered ${status}: ${msg}` });
      }
      return ok(json as T);
    } catch (e) {
      return err({ status: 0, message: `cannot reach agent ${this.url}: ${causeOf(e)}` });
    }
  }

  /** Takes (or renews) the agent's deploy lock for `holder`, taking over `takeOver` if given. */
  async lock(req: {
    holder: string;
    owner: string;
    ttlMs: number;
    takeOver?: string;
  }): Promise<Result<{ holder: string; expiresAt: number }, LockRefusal>> {
    const r = await this.#request<{ holder: string; expiresAt: number }>(
      'POST',
      '/v1/lock',
      req,
      this.timeoutMs,
    );
    if (r.ok) return r;
    return err({ reason: r.error.status === 409 ? 'held' : 'error', message: r.error.message });
  }

  /** Frees the agent's lock if `holder` has it. */
  unlock(holder: string): Promise<Result<{ ok: true }, string>> {
    return this.#call('POST', '/v1/unlock', { holder });
  }

  status(): Promise<Result<AgentStatus, string>> {
    return this.#call('GET', '/v1/status');
  }

  /**
   * Switches the agent to `release`. With `expected` (a release or null), the agent refuses with
   * 409 unless that is what it runs now: another deployment moved the host meanwhile.
   */
  activate(
    release: ReleaseId | null,
    opts: { app?: AppSpec; keep?: number; expected?: ReleaseId | null; validate?: ValidateRequest } = {},
  ): Promise<Result<ActivateResult, string>> {
    // Stopping the old app may take its grace period; allow for it.
    return this.#call('POST', '/v1/activate', { release, ...opts }, this.timeoutMs + 30_000);
  }

  /** The agent's latest measurement of its app (after an activation that asked for one). */
  appValidation(): Promise<Result<{ validation: AppValidation | null }, string>> {
    return this.#call('GET', '/v1/app/validation');
  }

  rollback(to?: ReleaseId | null, expected?: ReleaseId | null): Promise<Result<ActivateResult, string>> {
    return this.#call('POST', '/v1/rollback', { to, expected }, this.timeoutMs + 30_000);
  }

  /**
   * Asks the agent to check its current release's folder now (agent/twins.ts), so that staging
   * an unchanged artifact soon after need not wait for it. Answered before the check runs, with
   * the agent's protocol and how many releases it keeps (absent from agents before them), and
   * whether it takes a streamed stage's part lines and a zstd body (stream-feed.ts; absent before them); an
   * error (an older agent's 404) only means that it will not. `onSent` hears when the request
   * has been handed to the kernel.
   */
  twinCheck(onSent?: () => void): Promise<
    Result<
      {
        checking: boolean;
        protocol?: number;
        releases?: number;
        streamParts?: boolean;
        streamZstd?: boolean;
      },
      string
    >
  > {
    return this.#call('POST', '/v1/twin-check', undefined, this.timeoutMs, onSent);
  }

  /**
   * Sends the outline of an artifact still being chunked, so that an agent without releases
   * creates its folders and files meanwhile (agent/prepared-tree.ts). An error (an older agent's
   * 404) only means that it will not.
   */
  prepare(outline: string[]): Promise<Result<{ prepared: boolean }, string>> {
    return this.#call('POST', '/v1/prepare', { outline });
  }

  /**
   * Names large files changed in place before they are chunked, so that the agent copies their
   * earlier versions meanwhile (agent/copies-ahead.ts). An error (an older agent's 404) only
   * means that it will not. `shifted`: large files whose length changed, with where their bytes
   * moved (shift-probe.ts); sent apart from `paths`, since an older agent refuses the whole body.
   */
  copyAhead(
    paths: string[],
    shifted?: { path: string; at: number; from: number }[],
  ): Promise<Result<{ copying: boolean }, string>> {
    return this.#call('POST', '/v1/copy-ahead', shifted?.length ? { paths, shifted } : { paths });
  }

  /** Makes this agent a relay: neighbours holding `token` may pull chunks through it. */
  grant(token: string, sources: ChunkSourceRef[], maxChunk: number): Promise<Result<{ ok: true }, string>> {
    return this.#call('POST', '/v1/grant', {
      token,
      sources: sources.map((s) => ({ url: s.url, token: s.token })),
      maxChunk,
    });
  }

  /**
   * Stages a release; `onProgress` sees the agent's running counts. The body is gzipped
   * (stage-body.ts); with `delta` (the manifest against a release the agent keeps) the smaller of
   * the two is sent, and the whole manifest after all if the agent no longer keeps that release.
   * `opening`: the whole manifest's part of the body, gzipped ahead. `onSent`: the request is
   * on its way.
   */
  async stage(opts: {
    release: ReleaseId;
    manifest: Manifest;
    delta?: ManifestDelta;
    bases?: Record<ChunkId, ChunkId[]>;
    sources: ChunkSourceRef[];
    opening?: Buffer;
    onProgress?: (p: StageProgress) => void;
    onSent?: () => void;
    signal?: AbortSignal;
  }): Promise<Result<StageResult & { requestBytes: number }, string>> {
    const ending = endingOf(opts);
    // Writing out and gzipping a 20,000-file manifest costs tens of milliseconds: only when the
    // delta might lose (it changes a quarter of the entries or more) or the agent lacks its base.
    let wholeText: string | undefined;
    let whole: Buffer | undefined;
    const wholeOf = () => {
      whole ??= Buffer.concat([
        opts.opening ?? gzipPart(wholeText ?? openingText({ manifest: opts.manifest })),
        ending,
      ]);
      return whole;
    };
    const d = opts.delta;
    const deltaText = d ? openingText({ manifestDelta: d }) : undefined;
    const delta = deltaText !== undefined ? Buffer.concat([gzipPart(deltaText), ending]) : undefined;
    let compare = opts.opening && wholeOf();
    if (!compare && d && delta && (d.upsert.length + d.remove.length) * 4 > opts.manifest.entries.length) {
      wholeText = openingText({ manifest: opts.manifest });
      if (deltaText!.length * 4 > wholeText.length) compare = wholeOf();
    }
    if (delta && (!compare || delta.length < compare.length)) {
      const r = await this.#stage(delta, opts);
      if (r.ok || !r.error.includes(NO_BASE)) return r;
      return this.#stage(wholeOf(), opts, delta.length);
    }
    return this.#stage(wholeOf(), opts);
  }

  /**
   * Stages a first release while its manifest is still being made (POST /v1/stage-stream,
   * stage-stream.ts): `unsupported` from an agent before it (404), which is then staged as before.
   */
  async stageStream(o: {
    header: StreamHeader;
    feed: StreamFeed;
    onProgress: (p: StageProgress) => void;
    onConnected?: () => void;
  }): Promise<StreamOutcome> {
    const held = await this.hold?.ensure();
    if (held && !held.ok) return { kind: 'staged', result: held };
    return sendStream({
      ...o,
      url: new URL('/v1/stage-stream', this.url),
      headers: this.#headers({}, false),
    });
  }

  /**
   * Stages and activates a release in one exchange (POST /v1/deploy, agent/deploy-exchange.ts).
   * `refused`: turned down before anything changed (an older agent's 404, a base the agent does
   * not keep, chunks it needs and no sources, another protocol, auth, the lock): deploy as
   * before, which reports real trouble as it always did. `broken`: no outcome came, so the host
   * may or may not have switched. Else the answer's last line, with the request's bytes.
   */
  async deploy(
    body: DeployRequest,
    opts: {
      onProgress?: (p: StageProgress) => void;
      onSent?: () => void;
      signal?: AbortSignal;
      /** Nothing follows on this host once it is done: a lock the exchange takes goes back then. */
      last?: boolean;
    } = {},
  ): Promise<DeployExchange> {
    const text = JSON.stringify(body);
    // Gzipped only when that pays: an unchanged redeploy's body is about 100 bytes, which gzip's
    // header and trailer would lengthen.
    const gz = text.length >= 1024;
    const payload = gz ? gzipSync(text) : Buffer.from(text);
    // The lock taken by the exchange itself when not held yet (first-change-hold.ts); while
    // another call is taking it, the exchange waits for that (or it could change the host
    // between another deployment's lock and ours).
    const take = this.hold?.header(opts.last === true);
    if (this.hold && !take) {
      const held = await this.hold.ensure();
      if (!held.ok) return { kind: 'refused', status: 409, message: held.error };
    }
    let res: IncomingMessage;
    try {
      res = await httpCall(new URL('/v1/deploy', this.url), {
        method: 'POST',
        headers: this.#headers(
          { ...(gz ? { 'content-encoding': 'gzip' } : {}), ...(take ? { [HOLD_HEADER]: take } : {}) },
          false,
        ),
        body: payload,
        signal: opts.signal,
        onSent: opts.onSent,
      });
    } catch (e) {
      // It may have taken the lock: held, so that it is given back.
      if (take) this.hold!.settle(true);
      return { kind: 'broken', message: `no answer from agent ${this.url}: ${causeOf(e)}` };
    }
    // Refused, it took no lock (or gave it back); answered, it holds it unless done and told `last`.
    if (take && isOk(res)) this.hold!.settle(true);
    if (!isOk(res)) {
      const msg = await refusalText(res);
      return {
        kind: 'refused',
        status: res.statusCode ?? 0,
        message: `${this.url} answered ${res.statusCode}: ${msg}`,
      };
    }
    try {
      for await (const line of answerLines(res)) {
        const msg = JSON.parse(line) as DeployLine;
        if (msg.type === 'progress') opts.onProgress?.(msg);
        else {
          if (take && opts.last && msg.type === 'done') this.hold!.settle(false);
          return { kind: 'answered', line: msg, requestBytes: payload.length };
        }
      }
    } catch (e) {
      return { kind: 'broken', message: `agent ${this.url} broke off while deploying: ${causeOf(e)}` };
    }
    return { kind: 'broken', message: `agent ${this.url} stopped answering while deploying (did it crash?)` };
  }

  async #stage(
    body: Buffer,
    opts: { onProgress?: (p: StageProgress) => void; onSent?: () => void; signal?: AbortSignal },
    earlierBytes = 0,
  ): Promise<Result<StageResult & { requestBytes: number }, string>> {
    const held = await this.hold?.ensure();
    if (held && !held.ok) return held;
    let res: IncomingMessage;
    try {
      res = await httpCall(new URL('/v1/stage', this.url), {
        method: 'POST',
        headers: this.#headers({ 'content-encoding': 'gzip' }),
        body,
        signal: opts.signal,
        onSent: opts.onSent,
      });
    } catch (e) {
      return err(`cannot reach agent ${this.url}: ${causeOf(e)}`);
    }
    if (!isOk(res)) {
      const text = await bodyText(res).catch(() => '');
      return err(`${this.url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    }
    const answer = await readStageAnswer(res, this.url.toString(), opts.onProgress);
    return answer.ok ? ok({ ...answer.value, requestBytes: earlierBytes + body.length }) : answer;
  }
}
