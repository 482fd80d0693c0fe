/**
 * A client for the Turborepo remote cache HTTP API v8 (`/v8/artifacts/{hash}`), which any
 * compatible server speaks. Expected trouble comes back as values: a miss, a refused signature,
 * or a failure the caller turns into one warning and local-only caching.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { artifactTag, verifyArtifactTag } from './signature.js';

export interface RemoteOptions {
  url: string;
  team?: string;
  /** Bearer token; never logged. */
  token?: string;
  /** HMAC key for `x-artifact-tag`; when set, downloads without a valid tag are refused. */
  signatureKey?: string;
  timeoutMs?: number;
  retries?: number;
  fetch?: typeof fetch;
}

export type GetOutcome =
  | { kind: 'hit'; bytes: Buffer }
  | { kind: 'miss' }
  | { kind: 'bad-signature' }
  | { kind: 'error'; message: string };

export type PutOutcome = { kind: 'ok' } | { kind: 'error'; message: string };

class HttpFailure extends Error {}

export class TurboRemoteCache {
  readonly #base: string;
  readonly #team: string;
  readonly #query: string;
  readonly #fetch: typeof fetch;

  constructor(private readonly opts: RemoteOptions) {
    this.#base = opts.url.replace(/\/+$/, '');
    this.#team = opts.team ?? '';
    // turbo's convention: ids that start with "team_" are team ids, anything else is a slug.
    this.#query = !opts.team
      ? ''
      : `?${opts.team.startsWith('team_') ? 'teamId' : 'slug'}=${encodeURIComponent(opts.team)}`;
    this.#fetch = opts.fetch ?? fetch;
  }

  /** Where it points, for messages (no token, no query). */
  get location(): string {
    return this.#base;
  }

  #url(hash: string): string {
    return `${this.#base}/v8/artifacts/${encodeURIComponent(hash)}${this.#query}`;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra, 'user-agent': 'slipway' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  /** Sends one request with timeouts and retries (network errors, 429 and 5xx only). */
  async #request(method: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const retries = this.opts.retries ?? 2;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(150 * 2 ** (attempt - 1) + Math.random() * 100);
      try {
        const res = await this.#fetch(url, { ...init, method, signal: AbortSignal.timeout(timeoutMs) });
        if (res.status === 429 || res.status >= 500) {
          last = `HTTP ${res.status}`;
          await res.arrayBuffer().catch(() => undefined);
          continue;
        }
        return res;
      } catch (e) {
        last = describeNetworkError(e);
      }
    }
    throw new HttpFailure(`${method} failed after ${retries + 1} attempts: ${last}`);
  }

  /** Does the server have this artifact? */
  async exists(hash: string): Promise<boolean | { error: string }> {
    try {
      const res = await this.#request(
        'HEAD',
        this.#url(hash),
        { headers: this.#headers() },
        this.#timeout(10_000),
      );
      if (res.status === 404) return false;
      if (res.ok) return true;
      return { error: statusMessage(res.status) };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  /** Downloads an artifact and checks its signature when a key is configured. */
  async get(hash: string): Promise<GetOutcome> {
    let res: Response;
    try {
      res = await this.#request('GET', this.#url(hash), { headers: this.#headers() }, this.#timeout(60_000));
    } catch (e) {
      return { kind: 'error', message: (e as Error).message };
    }
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined);
      return { kind: 'miss' };
    }
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      return { kind: 'error', message: statusMessage(res.status) };
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (e) {
      return { kind: 'error', message: `download interrupted: ${describeNetworkError(e)}` };
    }
    const key = this.opts.signatureKey;
    if (key) {
      const tag = res.headers.get('x-artifact-tag');
      if (!tag || !verifyArtifactTag(key, hash, this.#team, bytes, tag)) return { kind: 'bad-signature' };
    }
    return { kind: 'hit', bytes };
  }

  /** Uploads an artifact (signed when a key is configured). */
  async put(hash: string, bytes: Buffer, durationMs: number): Promise<PutOutcome> {
    const extra: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-artifact-duration': String(Math.max(0, Math.round(durationMs))),
    };
    const key = this.opts.signatureKey;
    if (key) extra['x-artifact-tag'] = artifactTag(key, hash, this.#team, bytes);
    try {
      const res = await this.#request(
        'PUT',
        this.#url(hash),
        { headers: this.#headers(extra), body: bytes },
        this.#timeout(120_000),
      );
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? { kind: 'ok' } : { kind: 'error', message: statusMessage(res.status) };
    } catch (e) {
      return { kind: 'error', message: (e as Error).message };
    }
  }

  #timeout(fallback: number): number {
    return this.opts.timeoutMs ?? fallback;
  }
}

function statusMessage(status: number): string {
  if (status === 401 || status === 403) {
    return `HTTP ${status}: the server refused the token (check SLIPWAY_REMOTE_CACHE_TOKEN and the team)`;
  }
  if (status === 400) {
    return 'HTTP 400: the server rejected the request (is SLIPWAY_REMOTE_CACHE_TOKEN set? is cache.remote.team set?)';
  }
  return `HTTP ${status}`;
}

function describeNetworkError(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timed out';
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return cause.code;
    return cause?.message ?? e.message;
  }
  return String(e);
}
