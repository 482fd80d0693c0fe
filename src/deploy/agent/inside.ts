/**
 * A check that a validated manifest or outline path, joined to a folder, stays inside it: done
 * again where files are created, so that a bug in validation cannot write outside the release,
 * without path.resolve and a prefix test on each of 20,000 paths.
 */

/** A ".." segment: joined to a folder, the path may leave it. */
const CLIMBS = /(?:^|\/)\.\.(?:\/|$)/;

/** Whether `p` joined to a folder stays inside it (relative, no ".." segment, no NUL). */
export function staysInside(p: string): boolean {
  return p.length > 0 && !p.startsWith('/') && !p.includes('\0') && !CLIMBS.test(p);
}
