/**
 * Turborepo's artifact signature (`x-artifact-tag`): base64(HMAC-SHA256(key, hash ‖ teamId ‖ body)),
 * the same bytes turbo's own client signs, so a cache shared with turbo users verifies both ways.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The tag for an artifact body. */
export function artifactTag(key: string, hash: string, team: string, body: Buffer): string {
  return createHmac('sha256', key).update(hash).update(team).update(body).digest('base64');
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
