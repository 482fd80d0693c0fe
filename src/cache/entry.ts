/**
 * A cache entry as stored locally and sent to a remote cache: metadata (log, duration), the
 * outputs archive, and a SHA-256 of both so a damaged or tampered entry is never restored.
 *
 *   "SLPWCE01" u32be metaLength, meta JSON, archive, sha256(everything before)
 */
import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../util/result.js';

const MAGIC = Buffer.from('SLPWCE01');
const DIGEST = 32;

export interface EntryMeta {
  v: 1;
  taskId: string;
  hash: string;
  /** How long the task took when it produced these outputs (the time a hit saves). */
  durationMs: number;
  createdAt: number;
  log: string;
}

export interface Entry {
  meta: EntryMeta;
  archive: Buffer;
}

/** Serialises an entry with its digest. */
export function encodeEntry(meta: EntryMeta, archive: Buffer): Buffer {
  const m = Buffer.from(JSON.stringify(meta));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(m.length);
  const body = Buffer.concat([MAGIC, len, m, archive]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Parses and verifies an entry; `hash` must be the one it was stored under. */
export function decodeEntry(buf: Buffer, hash: string): Result<Entry, string> {
  if (buf.length < MAGIC.length + 4 + DIGEST || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    return err('not a slipway cache entry');
  }
  const body = buf.subarray(0, buf.length - DIGEST);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - DIGEST)))
    return err('checksum mismatch (damaged or tampered)');
  const ml = body.readUInt32BE(MAGIC.length);
  const start = MAGIC.length + 4;
  if (start + ml > body.length) return err('metadata is truncated');
  let meta: EntryMeta;
  try {
    meta = JSON.parse(body.subarray(start, start + ml).toString('utf8')) as EntryMeta;
  } catch {
    return err('metadata is not valid JSON');
  }
  if (meta.v !== 1 || meta.hash !== hash) return err('entry belongs to another hash');
  return ok({ meta, archive: body.subarray(start + ml) });
}
