/**
 * The body of a stage request (POST /v1/stage), gzipped as two members: its opening, with the
 * manifest or its delta (nearly all of it), and its ending, with the release and the sources (a
 * relay's neighbours get other sources). gunzip reads concatenated members as one stream (RFC
 * 1952, and zlib's gunzip as agents of every version call it), so the agent sees one JSON text.
 * A first deploy's opening is compressed once for every host, on a thread of the pool, while the
 * deployer announces the deployment and asks each host's status (deploy.ts).
 */
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import type { ChunkSourceRef } from './chunk-client.js';
import { type Manifest, manifestJson } from './manifest.js';
import type { ManifestDelta } from './manifest-delta.js';
import { DEPLOY_PROTOCOL } from './protocol.js';
import type { ChunkId, ReleaseId } from './types.js';

/**
 * The fastest level: a 20,000-file manifest (3.1 MB of JSON) took 33 ms at level 1 and 52 ms at
 * the default 6, for 990 KB instead of 963 KB; the web build's (340 KB) 4.6 and 5.8 ms, for 111
 * KB either way. One output buffer of up to 4 MB: no round trip per 16 KB when off this thread.
 */
const GZIP = { level: 1, chunkSize: 4 * 1024 * 1024 };

const gzipLater = promisify(gzip);

/**
 * The opening's JSON: `{"protocol":N,"manifest":...` or the same with `manifestDelta`. A whole
 * manifest's canonical JSON reuses its entries' JSON when known (the release id made it).
 */
export function openingText(part: { manifest: Manifest } | { manifestDelta: ManifestDelta }): string {
  const body =
    'manifest' in part
      ? `"manifest":${manifestJson(part.manifest)}`
      : `"manifestDelta":${JSON.stringify(part.manifestDelta)}`;
  return `{"protocol":${DEPLOY_PROTOCOL},${body}`;
}

/** One gzip member of `text`, made on this thread. */
export function gzipPart(text: string): Buffer {
  return gzipSync(text, GZIP);
}

/** One gzip member of `text`, made on a thread of the pool. */
export function gzipPartLater(text: string): Promise<Buffer> {
  return gzipLater(text, GZIP);
}

/** The ending, gzipped: the release, the delta bases if any, and where to fetch chunks. */
export function endingOf(o: {
  release: ReleaseId;
  bases?: Record<ChunkId, ChunkId[]>;
  sources: ChunkSourceRef[];
}): Buffer {
  const rest = JSON.stringify({
    release: o.release,
    ...(o.bases && Object.keys(o.bases).length ? { bases: o.bases } : {}),
    sources: o.sources.map((s) => ({ url: s.url, token: s.token })),
  });
  return gzipSync(`,${rest.slice(1)}`, GZIP);
}
