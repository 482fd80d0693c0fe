/**
 * The lines of a streamed stage's body (deploy/stream-feed.ts) as zod/mini schemas: its header,
 * a manifest entry, its last line. Each line is parsed here before anything is done with it. A
 * manifest entry is only asked to be an object here, as /v1/stage's body asks of its manifest
 * (requests.ts): every rule of an entry (its type and fields, a safe path, parents before
 * children, chunk sizes that add up) is manifest.ts checkEntry's, through ManifestLines. A full
 * schema checked them twice: ~8 µs an entry, a tenth of the agent's added CPU on a first deploy.
 * zod/mini: it loads in a fraction of the classic API's time, on the path of a first deploy's
 * first request.
 */
import {
  array,
  custom,
  gte,
  int,
  maxLength,
  minLength,
  number,
  optional,
  refine,
  strictObject,
  string,
} from 'zod/mini';
import { isReleaseId } from '../types.js';

const sourceRef = strictObject({
  url: string().check(refine((u) => /^https?:\/\//.test(u), 'an http(s) URL')),
  token: string().check(minLength(1)),
});

/** The first line: what the agent needs before any entry. */
export const streamHeader = strictObject({
  protocol: int().check(gte(1)),
  version: string().check(minLength(1), maxLength(200)),
  chunking: strictObject({ min: number(), avg: number(), max: number() }),
  sources: array(sourceRef).check(minLength(1), maxLength(16)),
  /** The artifact's size as listed (a hint: when to flush early). */
  bytes: optional(int().check(gte(0))),
});

/** Why an entry line is refused when it is not an object. */
export const ENTRY_NOT_OBJECT = 'a manifest entry must be an object';

/**
 * Whether an entry line is an object, its fields then checked by ManifestLines (see above). A
 * plain test, not a schema: a zod/mini parse made a result and an issue list per line.
 */
export function isEntryObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A part of a large file's chunk list, before its entry (stream-feed.ts; only to an agent whose
 * twin check said `streamParts`): its fields checked by ManifestLines part.
 */
export const streamPart = strictObject({
  part: string(),
  mode: int(),
  offset: int(),
  chunks: custom<unknown[]>((v) => Array.isArray(v), 'a list of chunks'),
});

/** The last line: the release id the entries hash to, and how many came. */
export const streamTrailer = strictObject({
  release: string().check(refine(isReleaseId, 'a release id')),
  entries: int().check(gte(0)),
});
