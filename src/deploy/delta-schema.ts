/**
 * The schema of a fetch request's deltas (wire-delta.ts), shared by the agent's fetch body
 * (agent/requests.ts) and the deployer's origin. Written with zod/mini, not zod's classic API:
 * the origin loads it when an edit's first delta request comes, on the critical path of every
 * edit, and the classic module (with its locales, ~580 KB bundled) took 60-130 ms of the
 * deployer's one thread to load there; this one and the parts of zod it uses are ~30 KB, 5-15 ms.
 */
import { array, gte, int, lte, maxLength, minLength, optional, refine, strictObject, string } from 'zod/mini';
import { isChunkId } from './types.js';

const chunkId = string().check(refine(isChunkId, '64 lower-case hex digits'));

/** For some requested chunks: a base chunk the asker has, with its block hashes (wire-delta.ts). */
export function deltaRequests(max: number) {
  return array(
    strictObject({
      id: chunkId,
      /** The base chunks' ids: for the asker's own use; deployers before protocol 4 require it. */
      base: optional(array(chunkId).check(minLength(1), maxLength(8))),
      block: int().check(gte(128), lte(64 * 1024 * 1024)),
      sums: string().check(maxLength(64 * 1024)),
    }),
  ).check(maxLength(max));
}
