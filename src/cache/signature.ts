/**
 * Turborepo's artifact signature (`x-artifact-tag`), as turbo 2.x computes it since its
 * "artifact-signature:v2" scheme: base64(HMAC-SHA256(key, field₁ ‖ … ‖ field₄)) where each field
 * is its length as a little-endian u64 followed by its bytes, and the fields are the domain
 * "artifact-signature:v2", the artifact hash, the team id and the body. Length prefixes keep
 * one team's signed artifact from verifying for a team whose id extends the first one's.
 *
 * turbo signs with the team *id* only: a team given as a slug (`--team my-team`) signs with an
 * empty id. Slipway follows the same rule, so a tag made by either verifies in the other, and
 * `test/cache/turbo-signature.test.ts` checks that against the turbo binary.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const DOMAIN = 'artifact-signature:v2';

/** The team id turbo signs with: `team_…` ids as they are, slugs as the empty string. */
function signedTeamId(team: string): string {
  return team.startsWith('team_') ? team : '';
}

function lengthPrefixed(bytes: Buffer): Buffer[] {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  return [len, bytes];
}

/** The tag for an artifact body; `team` is the configured team (slug or `team_…` id). */
export function artifactTag(key: string, hash: string, team: string, body: Buffer): string {
  const mac = createHmac('sha256', key);
  for (const field of [Buffer.from(DOMAIN), Buffer.from(hash), Buffer.from(signedTeamId(team)), body]) {
    for (const part of lengthPrefixed(field)) mac.update(part);
  }
  return mac.digest('base64');
}

/** Constant-time check of a received tag. */
export function verifyArtifactTag(
  key: string,
  hash: string,
  team: string,
  body: Buffer,
  tag: string,
): boolean {
  const want = Buffer.from(artifactTag(key, hash, team, body));
  const got = Buffer.from(tag.trim());
  return want.length === got.length && timingSafeEqual(want, got);
}
