/**
 * How the origin answers a chunk asked for as a delta against the asker's base (origin.ts): the
 * schema of such requests, loaded only when an edit needs it, and the choice between the delta
 * and the whole chunk.
 */
import type { deltaRequests } from './delta-schema.js';
import type { ChunkId } from './types.js';
import { type Codec, deltaFrame, type Encoding, encodeFrame } from './wire.js';
import { bestDelta, type DeltaRequest } from './wire-delta.js';
import { loadZstd } from './zstd.js';

/**
 * The schema of delta requests, loaded at the first request that asks for deltas (an edit's), or
 * when one is expected: an unchanged redeploy or a first one never needs it (delta-schema.ts).
 */
let deltaSchema: Promise<ReturnType<typeof deltaRequests>> | undefined;
export function deltaSchemaLoaded(): Promise<ReturnType<typeof deltaRequests>> {
  deltaSchema ??= import('./delta-schema.js').then((m) => m.deltaRequests(100_000));
  return deltaSchema;
}
/**
 * The zstd level of chunk deltas: they are few (a changed chunk each) and made once per asker,
 * so a higher level than whole chunks get is cheap. On the bench's web build with 10% of its
 * files edited (202 changed chunks): level 3 395 KB in 53 ms, 6 391 KB in 57 ms, 9 389 KB in
 * 84 ms, 19 384 KB in 260 ms.
 */
const ZSTD_DELTA_LEVEL = 9;
/**
 * The level for a small chunk's delta (a small file's one chunk): level 9's cost there is mostly
 * setting up its deeper search, for nothing found. On 1,000 of the deploy bench's small files
 * (2-4 KB, 2 KB of each replaced): 1,340,561 bytes at 6 against 1,340,246 at 9, in 84-91 ms
 * against 126-220 ms (3: 1,371,995 bytes in 46 ms); over the 20,000 files' 10% edit, ~1,000 such
 * deltas made by the origin while the agent waits for them.
 */
const SMALL_DELTA_LEVEL = 6;
/** Chunks below this size are small (SMALL_DELTA_LEVEL): under the default chunking's least, a small file's one chunk or a file's last. */
const SMALL_CHUNK = 16 * 1024;
/**
 * The level for a delta whose unmatched bytes are few or look random (wire-delta.ts
 * cheapLevelWillDo): they cost about the same at any level, and level 9's search through them was most of the origin's zstd time on the 200 MB
 * file's 10% edit (noise patched into noise and text). Level 3 still finds the copies from the
 * dictionary: on a 64 KiB chunk with a 25 KB patch of noise 25,082 bytes against 25,033 at 9, in
 * a quarter of the time.
 */
const ZSTD_NOISE_DELTA_LEVEL = 3;
/**
 * A delta under 1/8 of its chunk goes without compressing the whole chunk to compare: the whole
 * one would have to compress more than 8:1 to win, which chunks of built code and media do not
 * (the bench's text compresses about 3:1). The web build's 10% edit: 200 whole-chunk compressions
 * fewer, 0.1 s of the deployer's CPU.
 */
const SURE_DELTA = 8;

/**
 * A delta of `data` (chunk `id`) against the asker's base when it is smaller than the compressed
 * chunk (never cached). `data` may be a view of a reused buffer (chunk-reads.ts `use`): it is
 * read before the first await, and copied for the whole chunk's compression after it.
 */
export async function deltaOrWholeFrame(
  id: ChunkId,
  data: Buffer,
  d: DeltaRequest,
  encoding: Encoding,
  codecs: readonly Codec[],
): Promise<Buffer> {
  const zstd = codecs.includes('zstd') ? loadZstd() : undefined;
  let delta: ReturnType<typeof bestDelta>;
  try {
    delta = bestDelta(
      data,
      d,
      zstd && {
        codec: zstd,
        level: data.length < SMALL_CHUNK ? SMALL_DELTA_LEVEL : ZSTD_DELTA_LEVEL,
        noiseLevel: ZSTD_NOISE_DELTA_LEVEL,
      },
    );
  } catch {
    // A zstd failure costs the delta, never the transfer: the chunk goes whole.
    delta = undefined;
  }
  // A zstd delta is the whole chunk compressed by zstd, at a level at least the whole frame's,
  // with a dictionary besides, and a delta whose literals are noise leaves nothing a compressor
  // could take: neither is worth compressing the chunk again to compare (that was 80 ms of the
  // origin's CPU on the 200 MB file's 10% edit, where most changed chunks are new bytes).
  if (delta && (delta.sure || delta.payload.length * SURE_DELTA < data.length))
    return deltaFrame(id, delta.payload, delta.kind);
  const whole = await encodeFrame(id, Buffer.from(data), encoding, codecs);
  return delta && delta.payload.length + 37 < whole.length
    ? deltaFrame(id, delta.payload, delta.kind)
    : whole;
}
