/**
 * An edit's unchanged files hard-linked on a thread of libuv's pool while the missing chunks are
 * fetched, instead of after them on the main thread (link-pass.ts then does only what is left).
 * On 20,000 small files with 10% edited that pass was the longest step after the fetch: 18,000
 * stats and links, ~500 ms of the agent's main thread while the deployer waited; during the fetch
 * the agent's main thread is ~80% busy and the deployer's serving takes the other core, and the
 * links fill what both leave. One call into the agent's addon (link-many.c) does the lot: a
 * worker thread of JavaScript instead cost ~15 MB of peak RSS (its isolate, the paths, a Stats
 * per file) for the same links.
 *
 * A file is linked only when its kept source still has the size and mtime recorded at its
 * assembly and the mode wanted (the proof file-index.ts asks of a file it links); anything else
 * (a mismatch, a failed link, no addon) is simply not linked here, and the assembly's pass sees
 * to it as before.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundleFile } from '../../util/package-info.js';
import { trace } from '../../util/trace.js';

/**
 * A file to link: the kept release folder `from`'s file `fromRel`, as recorded at its assembly
 * (`size`, `mtimeMs`), to `rel` in the staging folder; `mode` the permission bits wanted.
 */
export interface LinkJob {
  rel: string;
  from: string;
  fromRel: string;
  size: number;
  mtimeMs: number;
  mode: number;
}

/** The files linked, by manifest path: their size and mtime (the kept file's, as recorded). */
export type LinkedAhead = Map<string, [number, number]>;

/** link-many.c's call. */
type LinkMany = (
  paths: Buffer,
  want: Float64Array,
  modes: Uint16Array,
  done: Uint8Array,
  callback: () => void,
) => void;

/** The addon's call; false when absent or refused (`SLIPWAY_NATIVE_WRITES=0`, as whole-file.ts). */
let native: LinkMany | false | undefined;

function load(): LinkMany | false {
  if (process.env.SLIPWAY_NATIVE_WRITES === '0') return false;
  try {
    const m = createRequire(import.meta.url)(bundleFile('whole-file.node')) as { linkMany?: unknown };
    return typeof m.linkMany === 'function' ? (m.linkMany as LinkMany) : false;
  } catch {
    return false;
  }
}

/** Whether files can be linked ahead here (the addon loads). */
export function linksAhead(): boolean {
  native ??= load();
  return native !== false;
}

/**
 * Links `jobs` into the staging folder `to` on libuv's pool; resolves, never rejects, with those
 * linked once every one has been tried (none without the addon). Each destination is a fresh
 * name in a fresh folder.
 */
export function linkAhead(to: string, jobs: readonly LinkJob[]): Promise<LinkedAhead> {
  const linked: LinkedAhead = new Map();
  native ??= load();
  const linkMany = native;
  if (!linkMany || jobs.length === 0) return Promise.resolve(linked);
  const n = jobs.length;
  const want = new Float64Array(2 * n);
  const modes = new Uint16Array(n);
  const done = new Uint8Array(n);
  // The pairs written straight into one buffer, joined as path.join would for validated manifest
  // paths (no empty, "." or ".." segment): no string per path (36,000 of them, ~6 MB of heap
  // besides the buffer when they were made and joined first).
  const sep = Buffer.byteLength(path.sep);
  const into = Buffer.byteLength(to) + sep;
  const dirBytes = new Map<string, number>();
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    let d = dirBytes.get(j.from);
    if (d === undefined) {
      d = Buffer.byteLength(j.from) + sep;
      dirBytes.set(j.from, d);
    }
    bytes += d + Buffer.byteLength(j.fromRel) + into + Buffer.byteLength(j.rel) + 2;
    want[2 * i] = j.size;
    want[2 * i + 1] = j.mtimeMs;
    modes[i] = j.mode & 0o777;
  }
  const paths = Buffer.allocUnsafeSlow(bytes);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    o += paths.write(j.from, o);
    o += paths.write(path.sep, o);
    o += paths.write(j.fromRel, o);
    paths[o++] = 0;
    o += paths.write(to, o);
    o += paths.write(path.sep, o);
    o += paths.write(j.rel, o);
    paths[o++] = 0;
  }
  return new Promise((resolve) => {
    const answer = () => {
      for (let i = 0; i < n; i++) if (done[i]) linked.set(jobs[i]!.rel, [jobs[i]!.size, jobs[i]!.mtimeMs]);
      trace(`linked ahead: ${linked.size} of ${n}`);
      resolve(linked);
    };
    try {
      linkMany(paths, want, modes, done, answer);
    } catch {
      resolve(linked);
    }
  });
}
