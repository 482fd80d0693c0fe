/**
 * The lines of a streamed stage's body (deploy/stream-feed.ts) as zod/mini schemas: its header,
 * a manifest entry, its last line. Each line is parsed here before anything is done with it; a
 * manifest entry's deeper rules (safe paths, parents before children, chunk sizes) are then
 * manifest.ts ManifestLines'. zod/mini: it loads in a fraction of the classic API's time, on the
 * path of a first deploy's first request.
 */
import {
  array,
  discriminatedUnion,
  gte,
  int,
  literal,
  lte,
  maxLength,
  minLength,
  number,
  optional,
  refine,
  strictObject,
  string,
  tuple,
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

const path = string().check(maxLength(4096));
const mode = int().check(gte(0), lte(0o7777));

/** A manifest entry, as manifest.ts types it (its rules checked by ManifestLines). */
export const streamEntry = discriminatedUnion('type', [
  strictObject({ type: literal('dir'), path, mode }),
  strictObject({ type: literal('symlink'), path, target: string().check(maxLength(4096)) }),
  strictObject({
    type: literal('file'),
    path,
    mode,
    size: int().check(gte(0)),
    chunks: array(tuple([string(), int()])),
  }),
]);

/** The last line: the release id the entries hash to, and how many came. */
export const streamTrailer = strictObject({
  release: string().check(refine(isReleaseId, 'a release id')),
  entries: int().check(gte(0)),
});
