/**
 * Read-only probes `slipway run` and `slipway plan` need, started before the CLI itself loads so they overlap its
 * loading: git's view of the repository (index, status, HEAD) and the stat of every output path
 * the last run recorded. Each runs in its own child process, on another core. bin/slipway.js
 * calls `startProbes` first; run and plan use the result when it is for the same folder.
 */
import path from 'node:path';
import { statCommand, statText } from '../cache/stat-batch.js';
import { findPipelineFile } from '../config/find-file.js';
import { DEFAULT_FILE } from '../config/types.js';
import { outputStateListFile } from '../state/paths.js';
import { GIT_FACT_COMMANDS, type GitFacts, gitFacts } from '../util/git-facts.js';
import { shellBatch } from '../util/shell-batch.js';

export interface Probes {
  /** The pipeline folder they were started for. */
  root: string;
  git: Promise<GitFacts>;
  /** stat's answer for the paths in `.slipway/outputs.state.list`. */
  outputs: Promise<string | undefined>;
}

/** Starts the probes for a pipeline folder: one shell running git and stat side by side. */
export function probesFor(root: string): Probes {
  const all = shellBatch(root, [...GIT_FACT_COMMANDS, statCommand(outputStateListFile(root))]);
  return {
    root,
    git: all.then((r) => gitFacts(r.slice(0, GIT_FACT_COMMANDS.length))),
    outputs: all.then((r) => statText(r[GIT_FACT_COMMANDS.length]!)),
  };
}

/**
 * Starts the probes when `argv` is a `slipway run` or `plan` (global options may come first);
 * undefined for any other command. A misreading only costs the probes: the command checks the folder.
 */
export function startProbes(argv: readonly string[]): Probes | undefined {
  let file: string | undefined;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-f' || a === '--file') file = argv[++i];
    else if (a.startsWith('--file=')) file = a.slice(7);
    else if (a === '--store') i++;
    else if (a.startsWith('-')) continue;
    else if (a !== 'run' && a !== 'plan') return undefined;
    else
      return probesFor(path.dirname(path.resolve(file ?? findPipelineFile(process.cwd()) ?? DEFAULT_FILE)));
  }
  return undefined;
}
