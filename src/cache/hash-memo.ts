/**
 * The task hashes of the last run, with everything they were computed from: git's index and
 * status (the text git printed), the pipeline's tasks, the platform, this build, and the stat
 * signature of every file that was hashed outside git. While all of that is unchanged, so is
 * every task hash, and a fully cached run skips resolving inputs and hashing manifests: it
 * compares one key and a few stats instead of hashing 400 manifests.
 *
 * Never a false hit: any difference in what the key covers, a recorded file whose stat changed,
 * an input list that came from walking folders, or a file modified within the racy window
 * means the hashes are computed as usual. One file per checkout, beside outputs.state.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pipeline } from '../config/types.js';
import { writeAtomicSync } from '../state/atomic-write.js';
import { buildId } from '../util/build-id.js';
import type { GitFacts } from '../util/git-facts.js';
import { isRacySignature, statSignature } from './fingerprints.js';
import { platformKey } from './hash-manifest.js';
import type { TaskHash } from './types.js';

const FORMAT = 1;

interface MemoFile {
  format: number;
  key: string;
  hashes: Record<string, TaskHash>;
  /** Absolute path -> stat signature ('-' absent) of every file hashed outside git. */
  reads: Record<string, string>;
}

/**
 * What every task hash of this run is a function of, as one digest; undefined without git's
 * facts (no repository: inputs come from walking folders).
 */
export function worldKey(pipeline: Pipeline, facts: GitFacts): string | undefined {
  if (facts.where === undefined || facts.index === undefined || facts.status === undefined) return undefined;
  const h = createHash('sha256');
  for (const part of [
    `slipway hash memo ${FORMAT}`,
    buildId(),
    platformKey(),
    pipeline.root,
    facts.where,
    facts.index,
    facts.status,
    JSON.stringify([pipeline.env, pipeline.inputs, [...pipeline.tasks.values()]]),
  ]) {
    h.update(part).update('\0');
  }
  return h.digest('hex');
}

export interface Remembered {
  hashes: Map<string, TaskHash>;
  reads: Map<string, string>;
}

/**
 * The hashes recorded under `key`, when every file they read outside git still has the stat it
 * had; undefined otherwise (or when there is no memo, or it cannot be read).
 */
export function recall(file: string, key: string): Remembered | undefined {
  let memo: MemoFile;
  try {
    memo = JSON.parse(readFileSync(file, 'utf8')) as MemoFile;
  } catch {
    return undefined;
  }
  if (memo.format !== FORMAT || memo.key !== key || !memo.hashes || !memo.reads) return undefined;
  const reads = new Map(Object.entries(memo.reads));
  for (const [abs, sig] of reads) if (statSignature(abs) !== sig) return undefined;
  return { hashes: new Map(Object.entries(memo.hashes)), reads };
}

/**
 * Records `hashes` as computed under `key` from `reads`; records nothing when a read file was
 * modified so recently that a later change could keep its stat (the racy window).
 */
export function remember(file: string, key: string, memo: Remembered): void {
  const now = Date.now();
  for (const sig of memo.reads.values()) if (isRacySignature(sig, now)) return;
  const data: MemoFile = {
    format: FORMAT,
    key,
    hashes: Object.fromEntries(memo.hashes),
    reads: Object.fromEntries(memo.reads),
  };
  writeAtomicSync(file, JSON.stringify(data));
}
