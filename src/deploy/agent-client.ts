/** The deployer's side of the agent API. Every call returns a Result; network trouble is a value. */
import { err, ok, type Result } from '../util/result.js';
import type { ActivateResult, StageProgress, StageResult } from './agent/agent.js';
import type { AppSpec } from './agent/app.js';
import { type ChunkSourceRef, causeOf } from './chunk-client.js';
import type { Manifest } from './manifest.js';
import type { ReleaseId } from './types.js';

export interface AgentStatus {
  current: ReleaseId | null;
  releases: { id: ReleaseId; version: string; stagedAt?: number; activatedAt?: number }[];
  app: { running: boolean; pid: number | null; release: string | null; exitCode: number | null };
  chunks: number;
  pooled: number;
  staging: ReleaseId[];
}

export class AgentClient {
  constructor(
    readonly url: string,
    readonly token: string,
    readonly timeoutMs = 30_000,
  ) {}

  async #call<T>(
    method: string,
    route: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<Result<T, string>> {
    try {
      const res = await fetch(new URL(route, this.url), {
        method,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const msg = (json as { error?: string } | undefined)?.error ?? text.slice(0, 200);
        return err(`${this.url} answered ${res.status}: ${msg}`);
      }
      return ok(json as T);
    } catch (e) {
      return err(`cannot reach agent ${this.url}: ${causeOf(e)}`);
    }
  }

  status(): Promise<Result<AgentStatus, string>> {
    return this.#call('GET', '/v1/status');
  }

  activate(release: ReleaseId | null, app?: AppSpec, keep?: number): Promise<Result<ActivateResult, string>> {
    // Stopping the old app may take its grace period; allow for it.
    return this.#call('POST', '/v1/activate', { release, app, keep }, this.timeoutMs + 30_000);
  }

  rollback(to?: ReleaseId | null): Promise<Result<ActivateResult, string>> {
    return this.#call('POST', '/v1/rollback', to === undefined ? {} : { to }, this.timeoutMs + 30_000);
  }

  /** Makes this agent a relay: neighbours holding `token` may pull chunks through it. */
  grant(token: string, sources: ChunkSourceRef[], maxChunk: number): Promise<Result<{ ok: true }, string>> {
    return this.#call('POST', '/v1/grant', { token, sources, maxChunk });
  }

  /** Stages a release; `onProgress` sees the agent's running counts. The body is gzipped. */
  async stage(opts: {
    release: ReleaseId;
    manifest: Manifest;
    sources: ChunkSourceRef[];
    onProgress?: (p: StageProgress) => void;
    signal?: AbortSignal;
  }): Promise<Result<StageResult & { requestBytes: number }, string>> {
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync(
      JSON.stringify({
        release: opts.release,
        manifest: opts.manifest,
        sources: opts.sources,
      }),
    );
    let res: Response;
    try {
      res = await fetch(new URL('/v1/stage', this.url), {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body,
        signal: opts.signal,
      });
    } catch (e) {
      return err(`cannot reach agent ${this.url}: ${causeOf(e)}`);
    }
    if (!res.ok || !res.body)
      return err(`${this.url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    let pending = '';
    try {
      const decoder = new TextDecoder();
      for await (const piece of res.body as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(piece, { stream: true });
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
          const msg = JSON.parse(line) as
            | ({ type: 'progress' } & StageProgress)
            | { type: 'done'; result: StageResult }
            | { type: 'error'; message: string };
          if (msg.type === 'progress') opts.onProgress?.(msg);
          else if (msg.type === 'done') return ok({ ...msg.result, requestBytes: body.length });
          else return err(msg.message);
        }
      }
    } catch (e) {
      return err(`agent ${this.url} broke off while staging: ${causeOf(e)}`);
    }
    return err(`agent ${this.url} stopped answering while staging (did it crash?)`);
  }
}
