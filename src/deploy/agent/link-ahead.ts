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
import { trace } from '../../util/trace.js';
import { type NativeLinkMany, nativeAddon } from './native-addon.js';

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

/** Files whose paths are made into one string at a time. */
const SLICE = 1024;

/** The addon's call; false when absent or refused (native-addon.ts). */
let native: NativeLinkMany | false | undefined;

function load(): NativeLinkMany | false {
  return nativeAddon()?.linkMany ?? false;
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
  for (let i = 0; i < n; i++) {
    const j = jobs[i]!;
    want[2 * i] = j.size;
    want[2 * i + 1] = j.mtimeMs;
    modes[i] = j.mode & 0o777;
  }
  // Relative paths, the folder each is found in only where it changes (link-many.c joins them as
  // path.join would for validated manifest paths), a slice of files at a time: for 18,000 files
  // 0.42 MB made in ~10 ms, where their full paths took 2.6 MB and 18-59 ms (46-130 with a
  // Buffer.write per piece, ~6 MB more of heap as one string).
  const slices: Buffer[] = [];
  let root = '';
  for (let at = 0; at < n; at += SLICE) {
    let text = '';
    for (let i = at; i < Math.min(n, at + SLICE); i++) {
      const j = jobs[i]!;
      text += `${j.from === root ? '' : j.from}\0${j.fromRel === j.rel ? '' : j.fromRel}\0${j.rel}\0`;
      root = j.from;
    }
    slices.push(Buffer.from(text));
  }
  const paths = slices.length === 1 ? slices[0]! : Buffer.concat(slices);
  return new Promise((resolve) => {
    const answer = () => {
      for (let i = 0; i < n; i++) if (done[i]) linked.set(jobs[i]!.rel, [jobs[i]!.size, jobs[i]!.mtimeMs]);
      trace(`linked ahead: ${linked.size} of ${n}`);
      resolve(linked);
    };
    try {
      linkMany(to, paths, want, modes, done, answer);
    } catch {
      resolve(linked);
    }
  });
}
