/**
 * The run announcement: as soon as `slipway run --queue` has checked its settings (while it still
 * plans, before its first task is ready), it publishes the commit and pipeline file it will build
 * on a Redis channel of the queue's prefix. Every worker subscribed prepares that commit at once:
 * its worktree (`git worktree add`, a fetch if the clone lacks the commit), the pipeline loaded
 * there and its cache opened, which is otherwise ~200 ms of work on the way of the worker's first
 * job of each commit. Signed like jobs (SLIPWAY_QUEUE_KEY): whoever can write to Redis cannot make
 * workers fetch and check out what they like. A worker that misses the message (not yet started)
 * prepares on the first job, as before.
 */
import * as z from 'zod';
import { mac, macMatches } from './job.js';
import type { QueueAddress } from './queue-address.js';

const hex = z.string().regex(/^[0-9a-f]+$/);

const announcementSchema = z.strictObject({
  commit: hex.length(40),
  /** The pipeline file, relative to the repository's top folder. */
  file: z.string().min(1).max(1000),
});
export type Announcement = z.output<typeof announcementSchema>;

const signedSchema = z.strictObject({ announce: announcementSchema, sig: hex.length(64) });

/** The Pub/Sub channel of a queue's run announcements. */
export function announceChannel(a: QueueAddress): string {
  return `${a.prefix}:runs`;
}

/** The message to publish for a run about to start. */
export function announcement(key: string, a: Announcement): string {
  return JSON.stringify({ announce: a, sig: mac(key, a) });
}

export type ReadAnnouncement = { ok: true; announce: Announcement } | { ok: false; why: string };

/** Validates a message read from the channel (untrusted input) and checks its signature. */
export function readAnnouncement(key: string, message: string): ReadAnnouncement {
  let data: unknown;
  try {
    data = JSON.parse(message);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  const parsed = signedSchema.safeParse(data);
  if (!parsed.success)
    return { ok: false, why: `malformed or unsigned (${parsed.error.issues[0]?.message})` };
  if (!macMatches(key, parsed.data.announce, parsed.data.sig))
    return { ok: false, why: "bad signature (not signed with this worker's SLIPWAY_QUEUE_KEY)" };
  return { ok: true, announce: parsed.data.announce };
}
