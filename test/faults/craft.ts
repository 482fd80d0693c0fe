/**
 * Hand-made cache entries, the way an attacker (or a broken disk or server) could write them:
 * any archive headers, sizes and bytes, wrapped in an entry whose digest is right (it is no
 * secret) unless a test spoils it on purpose.
 */
import { encodeEntry } from '../../src/cache/entry.js';

/** One archive record: `p` path, `t` f/d/l, `m` mode, `s` declared size, `l` link target. */
export interface Rec {
  p: string;
  t: 'f' | 'd' | 'l';
  m: number;
  s?: number;
  l?: string;
  /** File bytes actually written after the header (may differ from `s`). */
  data?: string;
}

/** A slipway archive (SLPWAR01) with exactly these records. */
export function craftArchive(recs: readonly Rec[]): Buffer {
  const parts = [Buffer.from('SLPWAR01')];
  for (const { data, ...h } of recs) {
    const header = { ...h, s: h.s ?? (h.t === 'f' ? Buffer.byteLength(data ?? '') : undefined) };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32BE(json.length);
    parts.push(len, json);
    if (data !== undefined) parts.push(Buffer.from(data));
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** A cache entry for `hash` holding `archive`, with a correct digest. */
export function craftEntry(hash: string, archive: Buffer, taskId = 't'): Buffer {
  return encodeEntry(
    { v: 1, taskId, hash, durationMs: 1000, createdAt: Date.now(), log: 'restored from a crafted entry\n' },
    archive,
  );
}
