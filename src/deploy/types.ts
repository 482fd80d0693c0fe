/** Branded identifiers of the deploy feature. */

/** SHA-256 of a chunk's uncompressed bytes, 64 lower-case hex digits. */
export type ChunkId = string & { readonly __brand: 'ChunkId' };

/** A release on an agent: `<version>-<12 hex of the manifest digest>`. */
export type ReleaseId = string & { readonly __brand: 'ReleaseId' };

const CHUNK_ID = /^[0-9a-f]{64}$/;
const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isChunkId(s: unknown): s is ChunkId {
  return typeof s === 'string' && CHUNK_ID.test(s);
}

/** Release ids become folder names, so they are restricted to a safe alphabet. */
export function isReleaseId(s: unknown): s is ReleaseId {
  return typeof s === 'string' && RELEASE_ID.test(s) && !s.includes('..');
}
