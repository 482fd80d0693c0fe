/**
 * The head start: bin/slipway.js calls `Prefetch.start(argv)` before it loads the CLI, and for a
 * `run` or `plan` the pipeline folder's checkout (state/checkout.ts) reads its ledger and starts
 * its probes (git, output stats) at once, so their child processes work while the rest loads.
 * The object then travels opaque in the CLI context; a command asks it for the checkout of its
 * pipeline folder and gets the started one, or a fresh one when a misreading of argv guessed
 * another folder (which only costs the head start).
 *
 * The daemon's spare starts it with what it prepared for its checkout while it waited
 * (cli/prepared.ts): the store already open, for a command that asks for that store, a shell
 * already started for the probes, and the ledger already read and parsed (each checked first).
 */
import path from 'node:path';
import { scanCommandLine } from '../command-line.js';
import { findPipelineFile } from '../config/find-file.js';
import { DEFAULT_FILE } from '../config/types.js';
import { Checkout } from '../state/checkout.js';
import type { LedgerAhead } from '../state/ledger.js';
import type { WarmSqlite } from '../store/warm-sqlite.js';
import type { ReadyShell } from '../util/shell-batch.js';

/** What the daemon's spare prepared before the command came; each part is checked when used. */
export interface Ahead {
  /** The history store, opened (store/warm-sqlite.ts). */
  store?: WarmSqlite;
  /** A shell waiting for the probes' batch (state/checkout.ts). */
  shell?: ReadyShell;
  /** The checkout's ledger, read ahead (state/ledger.ts). */
  ledger?: LedgerAhead;
}

export class Prefetch {
  private constructor(
    readonly started: Checkout | undefined,
    /** The store opened ahead, for `openStore` (it checks that it is the one asked for). */
    readonly warmStore?: WarmSqlite,
  ) {}

  /** Starts the checkout for `argv` when it is a `slipway run` or `plan`; nothing otherwise. */
  static start(argv: readonly string[], ahead: Ahead = {}): Prefetch {
    const { command, file } = scanCommandLine(argv.slice(2));
    if (command !== 'run' && command !== 'plan') return new Prefetch(undefined, ahead.store);
    const root = path.dirname(path.resolve(file ?? findPipelineFile(process.cwd()) ?? DEFAULT_FILE));
    return new Prefetch(
      new Checkout(root, { shell: ahead.shell, ledger: ahead.ledger }).probe(),
      ahead.store,
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
