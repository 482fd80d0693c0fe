/**
 * The task hashes of the last run, with everything they were computed from: git's index and
 * status (the text git printed), the pipeline's tasks, the platform, this build, and the stat
 * record (state/stat-record.ts) of every file that was hashed outside git. While all of that is
 * unchanged, so is every task hash, and a fully cached run skips resolving inputs and hashing manifests: it
 * compares one key and a few stats instead of hashing 400 manifests.
 *
 * Never a false hit: any difference in what the key covers, a recorded file whose stat changed,
 * an input list that came from walking folders, or a file modified within the racy window
 * means the hashes are computed as usual. Kept in the ledger's `hashes` section (state/ledger.ts).
 */
import { createHash } from 'node:crypto';
import type { Pipeline } from '../config/types.js';
import type { Ledger } from '../state/ledger.js';
import { isRacyRecord, statRecord } from '../state/stat-record.js';
import { buildId } from '../util/build-id.js';
import type { GitFacts } from '../util/git-facts.js';
import { platformKey } from './hash-manifest.js';
import type { TaskHash } from './types.js';

const FORMAT = 2;

interface MemoSection {
  format: number;
  key: string;
  hashes: Record<string, TaskHash>;
  /** Absolute path -> stat record ('' absent) of every file hashed outside git. */
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
 * The hashes recorded under `key`, when every file they read outside git still has the stat
 * record it had; undefined otherwise (or when there is no memo).
 */
export function recall(ledger: Ledger, key: string): Remembered | undefined {
  const memo = ledger.get('hashes') as MemoSection | undefined;
  if (memo?.format !== FORMAT || memo.key !== key || typeof memo.hashes !== 'object') return undefined;
  if (typeof memo.reads !== 'object' || !memo.hashes || !memo.reads) return undefined;
  const reads = new Map(Object.entries(memo.reads));
  for (const [abs, rec] of reads) if (statRecord(abs) !== rec) return undefined;
  return { hashes: new Map(Object.entries(memo.hashes)), reads };
}

/**
 * Records `hashes` as computed under `key` from `reads`; records nothing when a read file was
 * modified so recently that a later change could keep its stat (the racy window).
 */
export function remember(ledger: Ledger, key: string, memo: Remembered): void {
  const now = Date.now();
  for (const rec of memo.reads.values()) if (isRacyRecord(rec, now)) return;
  const section: MemoSection = {
    format: FORMAT,
    key,
    hashes: Object.fromEntries(memo.hashes),
    reads: Object.fromEntries(memo.reads),
  };
  ledger.set('hashes', section);
}
