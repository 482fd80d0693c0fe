/**
 * Read-only grants a relay agent hands its neighbours: a token that lets them fetch chunks from
 * it, with the upstream sources it pulls what it lacks from. They expire.
 */
import { randomBytes } from 'node:crypto';
import type { ChunkSourceRef } from '../chunk-client.js';

export interface Grant {
  sources: ChunkSourceRef[];
  maxChunk: number;
}

export class Grants {
  readonly #grants = new Map<string, Grant & { expires: number }>();
  /** When the latest grant was made (epoch ms; 0: never). */
  grantedAt = 0;

  /** The live grant of `token`, or undefined. */
  get(token: string): Grant | undefined {
    const g = this.#grants.get(token);
    if (!g || g.expires < Date.now()) return undefined;
    return g;
  }

  add(token: string, grant: Grant, ttlMs: number): void {
    const now = Date.now();
    this.grantedAt = now;
    for (const [t, g] of this.#grants) if (g.expires < now) this.#grants.delete(t);
    this.#grants.set(token, { ...grant, expires: now + ttlMs });
  }
}

/** A random token for read-only chunk grants. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}
