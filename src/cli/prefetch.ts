/**
 * The head start: bin/slipway.js calls `Prefetch.start(argv)` before it loads the CLI, and for a
 * `run` or `plan` the pipeline folder's checkout (state/checkout.ts) reads its ledger and starts
 * its probes (git, output stats) at once, so their child processes work while the rest loads.
 * The object then travels opaque in the CLI context; a command asks it for the checkout of its
 * pipeline folder and gets the started one, or a fresh one when a misreading of argv guessed
 * another folder (which only costs the head start).
 */
import path from 'node:path';
import { scanCommandLine } from '../command-line.js';
import { findPipelineFile } from '../config/find-file.js';
import { DEFAULT_FILE } from '../config/types.js';
import { Checkout } from '../state/checkout.js';

export class Prefetch {
  private constructor(readonly started: Checkout | undefined) {}

  /** Starts the checkout for `argv` when it is a `slipway run` or `plan`; nothing otherwise. */
  static start(argv: readonly string[]): Prefetch {
    const { command, file } = scanCommandLine(argv.slice(2));
    if (command !== 'run' && command !== 'plan') return new Prefetch(undefined);
    return new Prefetch(
      new Checkout(
        path.dirname(path.resolve(file ?? findPipelineFile(process.cwd()) ?? DEFAULT_FILE)),
      ).probe(),
    );
  }

  /** None started (tests, library use): every command gets a fresh checkout. */
  static none(): Prefetch {
    return new Prefetch(undefined);
  }

  /** The checkout of the pipeline folder `root`: the one already started, if it is for `root`. */
  checkout(root: string): Checkout {
    return this.started?.root === root ? this.started : new Checkout(root);
  }
}
