/**
 * A client for the Turborepo remote cache HTTP API v8 (`/v8/artifacts/{hash}`), which any
 * compatible server speaks. Expected trouble comes back as values: a miss, a refused signature,
 * a failure about one artifact (too large, rejected), or `off`: the remote is off for the run
 * (see `down`) or the run is being cancelled.
 *
 * Every request is bounded: the server must answer (connect and first byte) within the timeout
 * (default 5 s, `cache.remote.timeout`), a download must not stall for longer than that, and an
 * upload gets the timeout plus a second per MiB. A request that times out, a server that keeps
 * failing, answers slowly or refuses the token trips a run-wide breaker (remote-breaker.ts): the
 * requests in flight are aborted and none is sent again. The run's cancellation signal aborts
 * them too, at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { compressBody, decompressBody } from './remote-body.js';
import { RemoteBreaker } from './remote-breaker.js';
import { artifactTag, verifyArtifactTag } from './signature.js';

/** Connect and first byte of an answer, and the longest pause in a download. */
const DEFAULT_REMOTE_TIMEOUT_MS = 5_000;
/** The slowest upload rate allowed for before an upload counts as hanging. */
const UPLOAD_FLOOR_BYTES_PER_MS = (1024 * 1024) / 1000;
/** Answers slower than half the timeout this many times in one run: the server is too slow. */
const SLOW_ANSWERS_LIMIT = 3;

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
  /** The run's cancellation (SIGINT, SIGTERM): aborts every pending request at once. */
  signal?: AbortSignal;
}

export type GetOutcome =
  | { kind: 'hit'; bytes: Buffer }
  | { kind: 'miss' }
  | { kind: 'bad-signature' }
  /** About this artifact only; the remote stays in use. */
  | { kind: 'error'; message: string }
  /** Nothing (more) was asked: the remote is off for the run (`down` says why) or the run is cancelled. */
  | { kind: 'off' };

export type PutOutcome = { kind: 'ok' } | { kind: 'error'; message: string } | { kind: 'off' };

type Sent = { kind: 'answer'; res: Response; timer: AbortController } | { kind: 'off' };

const OFF = { kind: 'off' } as const;

export class TurboRemoteCache {
  readonly #base: string;
  readonly #team: string;
  readonly #query: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #breaker: RemoteBreaker;
  /** Aborted when the breaker trips or the run is cancelled. */
  readonly #stop: AbortSignal;

  constructor(private readonly opts: RemoteOptions) {
    this.#base = opts.url.replace(/\/+$/, '');
    this.#team = opts.team ?? '';
    // turbo's convention: ids that start with "team_" are team ids, anything else is a slug.
    this.#query = !opts.team
      ? ''
      : `?${opts.team.startsWith('team_') ? 'teamId' : 'slug'}=${encodeURIComponent(opts.team)}`;
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS;
    this.#breaker = new RemoteBreaker({ slowAfterMs: this.#timeoutMs / 2, slowLimit: SLOW_ANSWERS_LIMIT });
    this.#stop = opts.signal ? AbortSignal.any([this.#breaker.signal, opts.signal]) : this.#breaker.signal;
  }

  /** Where it points, for messages (no token, no query). */
  get location(): string {
    return this.#base;
  }

  /** Why the remote is off for the rest of the run; undefined while it is in use. */
  get down(): string | undefined {
    return this.#breaker.reason;
  }

  #url(hash: string): string {
    return `${this.#base}/v8/artifacts/${encodeURIComponent(hash)}${this.#query}`;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra, 'user-agent': 'slipway' };
    if (this.opts.token) h.authorization = `Bearer ${this.opts.token}`;
    return h;
  }

  /**
   * Sends one request and waits for the answer's headers, within `timeoutMs`. Network errors,
   * 429 and 5xx are retried with backoff; a timeout is not (it would cost a timeout per try):
   * it turns the remote off at once, as do a refused token and retries used up.
   */
  async #send(method: string, url: string, init: RequestInit, timeoutMs: number): Promise<Sent> {
    const retries = this.opts.retries ?? 2;
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0)
        await sleep(150 * 2 ** (attempt - 1) + Math.random() * 100, undefined, { signal: this.#stop }).catch(
          () => undefined,
        );
      if (this.#stop.aborted) return OFF;
      const timer = new AbortController();
      const deadline = setTimeout(() => timer.abort(), timeoutMs);
      const started = performance.now();
      let res: Response;
      try {
        res = await this.#fetch(url, {
          ...init,
          method,
          signal: AbortSignal.any([timer.signal, this.#stop]),
        });
      } catch (e) {
        if (this.#stop.aborted) return OFF;
        if (timer.signal.aborted) return this.#trip(`${method} got no answer within ${seconds(timeoutMs)}`);
        last = describeNetworkError(e);
        continue;
      } finally {
        clearTimeout(deadline);
      }
      this.#breaker.answered(performance.now() - started);
      if (res.status === 429 || res.status >= 500) {
        last = `HTTP ${res.status}`;
        discard(res);
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        discard(res);
        return this.#trip(statusMessage(res.status));
      }
      return { kind: 'answer', res, timer };
    }
    return this.#trip(`${method} failed after ${retries + 1} attempts: ${last}`);
  }

  #trip(reason: string): Sent {
    this.#breaker.trip(reason);
    return OFF;
  }

  /** Downloads an artifact and checks its signature when a key is configured. */
  async get(hash: string): Promise<GetOutcome> {
    const sent = await this.#send('GET', this.#url(hash), { headers: this.#headers() }, this.#timeoutMs);
    if (sent.kind === 'off') return OFF;
    const { res, timer } = sent;
    if (res.status === 404) {
      discard(res);
      return { kind: 'miss' };
    }
    if (!res.ok) {
      discard(res);
      return { kind: 'error', message: statusMessage(res.status) };
    }
    let bytes: Buffer;
    try {
      bytes = await readBody(res, timer, this.#timeoutMs);
    } catch (e) {
      if (this.#stop.aborted) return OFF;
      if (timer.signal.aborted) {
        this.#breaker.trip(`a download stalled for ${seconds(this.#timeoutMs)}`);
        return OFF;
      }
      return { kind: 'error', message: `download interrupted: ${describeNetworkError(e)}` };
    }
    const key = this.opts.signatureKey;
    if (key) {
      const tag = res.headers.get('x-artifact-tag');
      if (!tag || !verifyArtifactTag(key, hash, this.#team, bytes, tag)) return { kind: 'bad-signature' };
    }
    try {
      return { kind: 'hit', bytes: await decompressBody(bytes) };
    } catch (e) {
      return { kind: 'error', message: `the body does not decompress (${(e as Error).message})` };
    }
  }

  /** Uploads an entry, compressed (see remote-body.ts) and signed when a key is configured. */
  async put(hash: string, entry: Buffer, durationMs: number): Promise<PutOutcome> {
    const bytes = await compressBody(entry);
    const extra: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'x-artifact-duration': String(Math.max(0, Math.round(durationMs))),
    };
    const key = this.opts.signatureKey;
    if (key) extra['x-artifact-tag'] = artifactTag(key, hash, this.#team, bytes);
    const timeoutMs = this.#timeoutMs + Math.ceil(bytes.length / UPLOAD_FLOOR_BYTES_PER_MS);
    const sent = await this.#send(
      'PUT',
      this.#url(hash),
      { headers: this.#headers(extra), body: bytes },
      timeoutMs,
    );
    if (sent.kind === 'off') return OFF;
    discard(sent.res);
    return sent.res.ok ? { kind: 'ok' } : { kind: 'error', message: statusMessage(sent.res.status) };
  }
}

/** Reads a body, aborting through `timer` when no bytes arrive for `idleMs`. */
async function readBody(res: Response, timer: AbortController, idleMs: number): Promise<Buffer> {
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const idle = setTimeout(() => timer.abort(), idleMs);
    try {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    } finally {
      clearTimeout(idle);
    }
  }
  return Buffer.concat(chunks);
}

/** Drops an answer's body without waiting for it (a slow server must not hold us up). */
function discard(res: Response): void {
  res.body?.cancel().catch(() => undefined);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function statusMessage(status: number): string {
  if (status === 401 || status === 403) {
    return `HTTP ${status}: the server refused the token (check SLIPWAY_REMOTE_CACHE_TOKEN and the team)`;
  }
  if (status === 400) {
    return 'HTTP 400: the server rejected the request (is SLIPWAY_REMOTE_CACHE_TOKEN set? is cache.remote.team set?)';
  }
  if (status === 413) return 'HTTP 413: the server refused it as too large';
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
