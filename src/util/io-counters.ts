/**
 * Disk I/O of a process as Linux counts it in /proc/<pid>/io. `read_bytes`/`write_bytes` are what
 * reached (or was dirtied for) the storage layer; `rchar`/`wchar` are bytes through read(2) and
 * write(2)-like calls, page cache, pipes and terminals included; `syscr`/`syscw` count those calls.
 */

export interface IoCounters {
  /** Bytes fetched from storage (page-cache hits are not counted). */
  readBytes: number;
  /** Bytes dirtied for storage, less those cancelled by truncation before writeback. */
  writeBytes: number;
  /** read-like system calls. */
  readOps: number;
  /** write-like system calls. */
  writeOps: number;
  /** Bytes read through any read-like call (caches, pipes and sockets too). */
  readChars: number;
  /** Bytes written through any write-like call. */
  writeChars: number;
}

export const NO_IO: IoCounters = {
  readBytes: 0,
  writeBytes: 0,
  readOps: 0,
  writeOps: 0,
  readChars: 0,
  writeChars: 0,
};

const KEYS = Object.keys(NO_IO) as (keyof IoCounters)[];

/** Parses the text of /proc/<pid>/io; undefined when it is not that file. */
export function parseProcIo(text: string): IoCounters | undefined {
  const v = new Map<string, number>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) v.set(line.slice(0, i).trim(), Number(line.slice(i + 1)));
  }
  const get = (k: string) => {
    const n = v.get(k);
    return n !== undefined && Number.isFinite(n) ? n : undefined;
  };
  const rchar = get('rchar');
  const wchar = get('wchar');
  const syscr = get('syscr');
  const syscw = get('syscw');
  if (rchar === undefined || wchar === undefined || syscr === undefined || syscw === undefined)
    return undefined;
  return {
    readBytes: get('read_bytes') ?? 0,
    writeBytes: Math.max(0, (get('write_bytes') ?? 0) - (get('cancelled_write_bytes') ?? 0)),
    readOps: syscr,
    writeOps: syscw,
    readChars: rchar,
    writeChars: wchar,
  };
}

export function addIo(a: IoCounters, b: IoCounters): IoCounters {
  const out = { ...a };
  for (const k of KEYS) out[k] += b[k];
  return out;
}

/** Field-wise maximum: every counter only grows, so a lower total is a member missed. */
export function maxIo(a: IoCounters, b: IoCounters): IoCounters {
  const out = { ...a };
  for (const k of KEYS) out[k] = Math.max(a[k], b[k]);
  return out;
}
