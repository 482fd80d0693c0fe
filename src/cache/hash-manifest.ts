/** The task hash: everything that decides a task's outputs, in a stable, machine-independent form. */
import { createHash } from 'node:crypto';
import type { InputList } from './inputs.js';
import type { TaskHash } from './types.js';

/** What a hash is made of; stored per hash so `slipway why` can say what changed. */
export interface HashManifest {
  v: 1;
  taskId: string;
  command: string;
  /** Relative to the pipeline's folder, forward slashes. */
  cwd: string;
  /** Declared values (the file is committed, so they are not secret). */
  env: Record<string, string>;
  /** Secret names only: their values never reach the hash or the disk. */
  secrets: string[];
  inputs: InputList;
  outputs: string[];
  /** [task id, hash] of every dependency, sorted. */
  deps: [string, string][];
  /** Pipeline-wide env and input files. */
  globalEnv: Record<string, string>;
  globalInputs: InputList;
  platform: string;
}

const HASH_VERSION = 'slipway-task-hash-1';

function sortedRecord(r: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k] as string;
  return out;
}

/** Puts a manifest's lists and maps in canonical order (so equal content gives equal hashes). */
export function canonical(m: HashManifest): HashManifest {
  return {
    ...m,
    env: sortedRecord(m.env),
    secrets: [...new Set(m.secrets)].sort(),
    outputs: [...m.outputs].sort(),
    deps: [...m.deps].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    globalEnv: sortedRecord(m.globalEnv),
  };
}

/** SHA-256 over the canonical manifest, hex. */
export function hashManifest(m: HashManifest): TaskHash {
  const c = canonical(m);
  const h = createHash('sha256').update(HASH_VERSION);
  h.update(
    JSON.stringify([
      c.taskId,
      c.command,
      c.cwd,
      c.env,
      c.secrets,
      c.outputs,
      c.deps,
      c.globalEnv,
      c.platform,
    ]),
  );
  // Inputs go in as one string per list (a native call per entry costs more than the copy).
  for (const list of [c.inputs, c.globalInputs]) {
    let text = '\0';
    for (const [p, id] of list) text += `${p}\0${id}\n`;
    h.update(text);
  }
  return h.digest('hex') as TaskHash;
}

/** The platform part of the hash: outputs built on one OS/CPU may not run on another. */
export function platformKey(): string {
  return `${process.platform}-${process.arch}`;
}
