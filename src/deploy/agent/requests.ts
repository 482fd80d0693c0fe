/**
 * The agent's request bodies as zod schemas: every body from the network is parsed here before
 * any operation sees it, so `null`, `42`, `[]` or a stray field is a 400 and never a state change
 * (a bare `42` on /v1/rollback used to roll back for real). Manifests get their own deeper check
 * (`validateManifest`) once the envelope is known to be an object.
 */
import * as z from 'zod';
import { deltaRequests } from '../delta-schema.js';
import { HttpError } from '../http.js';
import { type ChunkId, isChunkId, isReleaseId } from '../types.js';
import type { AppSpec } from './app.js';

const releaseId = z.string().refine(isReleaseId, 'a release id (letters, digits, ".", "_", "-")');
const chunkId = z.string().refine(isChunkId, '64 lower-case hex digits');

/** A deployment id holding (or asking for) the agent's lock. */
export const lockHolder = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'a deployment id');

// Loose: deployers hand their origin object over as it is; only url and token are kept.
const sourceRef = z.object({
  url: z.string().regex(/^https?:\/\//, 'an http(s) URL'),
  token: z.string().min(1),
});

/** The app an activation (re)starts in the release. */
const appSpec = z.strictObject({
  command: z.string().min(1),
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/** What to measure of the app after an activation starts it (app-validation.ts). */
const validateRequest = z.strictObject({
  healthUrl: z
    .string()
    .max(2048)
    .regex(/^https?:\/\//, 'an http(s) URL')
    .optional(),
  settleMs: z.number().int().min(0).max(600_000),
  deadlineMs: z.number().int().min(1).max(3_600_000),
  successStatus: z.array(z.number().int().min(100).max(599)).max(20).optional(),
});

/** Ids lists are bounded by the agent's limits, so the schema is built per limit. */
export function chunkIdsBody(max: number) {
  return z.strictObject({ ids: z.array(chunkId).max(max) });
}

export function fetchBody(max: number) {
  return z.strictObject({
    ids: z.array(chunkId).max(max),
    encoding: z.enum(['none', 'deflate', 'br', 'br-fast']).optional(),
    /** Codecs the asker can decode (wire.ts); names this agent does not know are ignored. */
    codecs: z.array(z.string().max(32)).max(16).optional(),
    /** Deltas an origin may send; a relay serves whole chunks and ignores them. */
    deltas: z.optional(deltaRequests(max)),
  });
}

/** Most entries a manifest delta may upsert (manifest.ts MAX_ENTRIES). */
const MAX_UPSERT = 1_000_000;

/** Most bases one new chunk may name. */
const MAX_BASES = 8;

/**
 * Whether `v` is a list of at most MAX_UPSERT plain objects, in one loop: what
 * `z.array(z.record(z.string(), z.unknown()))` accepted, without copying each entry key by key
 * (validateManifest then checks every field of each). With deltaBases, zod's check of an edit's
 * 2,000 entries and bases cost the agent 40-66 ms of its main thread per 10% edit of 20,000
 * files (CPU profiles), on the way to the fetch; these loops ~1 ms.
 */
export function isEntryList(v: unknown): v is Record<string, unknown>[] {
  if (!Array.isArray(v) || v.length > MAX_UPSERT) return false;
  for (let i = 0; i < v.length; i++) {
    const e: unknown = v[i];
    if (e === null || typeof e !== 'object' || Array.isArray(e)) return false;
  }
  return true;
}

/**
 * Whether `v` maps chunk ids to lists of 1 to MAX_BASES chunk ids, in one loop: what
 * `z.record(chunkId, z.array(chunkId).min(1).max(8))` accepted (see isEntryList).
 */
export function isDeltaBases(v: unknown): v is Record<ChunkId, ChunkId[]> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !isChunkId(k)) return false;
    const list: unknown = (v as Record<string, unknown>)[k];
    if (!Array.isArray(list) || list.length < 1 || list.length > MAX_BASES) return false;
    for (let i = 0; i < list.length; i++) if (!isChunkId(list[i])) return false;
  }
  return true;
}

const entryList = z.custom<Record<string, unknown>[]>(
  isEntryList,
  `a list of at most ${MAX_UPSERT.toLocaleString('en')} manifest entries (objects)`,
);
const deltaBases = z.custom<Record<ChunkId, ChunkId[]>>(
  isDeltaBases,
  `chunk ids, each with a list of 1 to ${MAX_BASES} chunk ids`,
);

export const stageBody = z
  .strictObject({
    /** The deploy protocol of the deployer (absent: 1, which sent whole manifests only). */
    protocol: z.number().int().min(1).optional(),
    release: releaseId,
    manifest: z.record(z.string(), z.unknown()).optional(),
    /** The manifest as a delta against a release this agent keeps (deploy/manifest-delta.ts). */
    manifestDelta: z
      .strictObject({
        base: releaseId,
        version: z.string().min(1).max(200),
        chunking: z.strictObject({ min: z.number(), avg: z.number(), max: z.number() }),
        remove: z.array(z.string()).max(1_000_000),
        upsert: entryList,
      })
      .optional(),
    /** For new chunks, a chunk this agent may have that is much like it: fetched as a delta. */
    bases: deltaBases.optional(),
    sources: z.array(sourceRef).max(16).optional(),
  })
  .refine((b) => (b.manifest === undefined) !== (b.manifestDelta === undefined), {
    message: 'needs exactly one of manifest and manifestDelta',
  });

/**
 * A redeploy in one exchange (POST /v1/deploy, deploy-exchange.ts): the release as a delta
 * against one this agent keeps (`base`, the changes flattened in: `chunking` absent is the
 * base's, `remove` and `upsert` absent are empty), staged and then activated as /v1/activate
 * would with `keep`, `app` and `validate`. Without `sources` only a release the agent can make
 * from what it has (kept, or the twin of a kept one) is staged, and anything else refused.
 * `protocol` must be the agent's own: a deployer refuses an agent of another version on its
 * status, and this exchange comes without one.
 */
export const deployBody = z.strictObject({
  protocol: z.number().int().min(1),
  release: releaseId,
  /** Absent when the release id begins with it (`<version>-<12 hex>`): 15 of an unchanged redeploy's ~400 bytes. */
  version: z.string().min(1).max(200).optional(),
  base: releaseId,
  chunking: z.strictObject({ min: z.number(), avg: z.number(), max: z.number() }).optional(),
  remove: z.array(z.string()).max(1_000_000).optional(),
  upsert: entryList.optional(),
  bases: deltaBases.optional(),
  sources: z.array(sourceRef).min(1).max(16).optional(),
  keep: z.number().int().min(1).optional(),
  app: appSpec.optional(),
  validate: validateRequest.optional(),
});

/** Most paths an outline may list. */
const MAX_OUTLINE = 1_000_000;

/**
 * Whether `v` is what `z.array(z.string().min(1).max(4096)).max(1_000_000)` accepts, in one loop:
 * zod's check of each of a first release's 20,000 strings cost ~25 ms of the agent's CPU.
 */
export function isOutlineList(v: unknown): v is string[] {
  if (!Array.isArray(v) || v.length > MAX_OUTLINE) return false;
  for (let i = 0; i < v.length; i++) {
    const p: unknown = v[i];
    if (typeof p !== 'string' || p.length === 0 || p.length > 4096) return false;
  }
  return true;
}

/** A first release's outline: paths in manifest order, folders ending in `/` (prepared-tree.ts). */
export const prepareBody = z.strictObject({
  outline: z.custom<string[]>(isOutlineList, 'a list of at most 1,000,000 paths of 1 to 4096 characters'),
});

/**
 * Large files changed in place, named as in the manifest (copies-ahead.ts): only a path a kept
 * release lists is looked up, so a name that is no manifest path finds nothing.
 */
export const copyAheadBody = z.strictObject({
  paths: z.array(z.string().min(1).max(4096)).max(64),
  /**
   * Large files whose length changed, with where their bytes are predicted to have moved: from
   * `at` on, the new file's bytes are the earlier version's from `from` on. Optional: a deployer
   * sends them in a request of their own (an older agent refuses the field, 400).
   */
  shifted: z
    .array(
      z.strictObject({
        path: z.string().min(1).max(4096),
        at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
        from: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      }),
    )
    .max(64)
    .optional(),
});

export const grantBody = z.strictObject({
  token: z.string().min(16),
  sources: z.array(sourceRef).max(16),
  maxChunk: z.number().int().positive().optional(),
  ttlMs: z.number().int().positive().optional(),
});

export const activateBody = z.strictObject({
  /** A staged release, or null to stop the app and remove `current`. */
  release: releaseId.nullable(),
  app: appSpec.optional(),
  keep: z.number().int().min(1).optional(),
  /** What `current` must be now (null: no release); anything else is a 409. */
  expected: releaseId.nullable().optional(),
  /** Measure the app after it starts (app-validation.ts). */
  validate: validateRequest.optional(),
});

export const rollbackBody = z.strictObject({
  to: releaseId.nullable().optional(),
  expected: releaseId.nullable().optional(),
});

export const lockBody = z.strictObject({
  holder: lockHolder,
  /** Who holds it, for the message a refused deployer prints. */
  owner: z.string().max(300),
  ttlMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3_600_000),
  /** A holder the deployer's store proved dead (its process is gone): taken over at once. */
  takeOver: lockHolder.optional(),
});

export const unlockBody = z.strictObject({ holder: lockHolder });

/**
 * HOLD_HEADER (deploy-lock.ts): `<ttl ms> <once|keep> <owner>`, the lock a lone host's deploy
 * exchange takes itself (as POST /v1/lock would) and, with `once`, gives back when it is done.
 */
export const holdHeader = z
  .string()
  .regex(/^(\d{4,8}) (once|keep) (.{1,300})$/, '<ttl ms> <once|keep> <owner>')
  .transform((v) => {
    const [, ttl, mode, owner] = /^(\d+) (\w+) (.*)$/.exec(v)!;
    return { ttlMs: Math.min(Number(ttl), 24 * 3_600_000), once: mode === 'once', owner: owner! };
  });

/** The app of a request body, its env values as strings (what the app's environment holds). */
export function appOf(app: z.infer<typeof appSpec> | undefined): AppSpec | undefined {
  if (!app) return undefined;
  const env: Record<string, string> = {};
  for (const [k, x] of Object.entries(app.env ?? {})) env[k] = String(x);
  return { command: app.command, env };
}

/** Parses a body or throws a 400 naming the first problem and where it is. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new HttpError(400, `bad ${what} request${where}: ${issue?.message ?? 'invalid body'}`);
}
