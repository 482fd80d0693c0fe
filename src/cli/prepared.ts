/**
 * What the daemon's spare (cli/spare.ts) prepares for its checkout while it waits for a command,
 * so the command finds it done: work that does not depend on the request. Each part is checked
 * against the checkout when the command uses it and taken only when it still holds (the store:
 * the same file, unchanged, and asked for; the ledger: the same stat record, and the same bytes
 * when that record was racy); the command does the work itself otherwise. Nothing
 * here reads git or the outputs: the probes' shell is started, but it runs git and stat only when
 * the command hands it their batch, in the command's folder and environment.
 */
import type { Command } from 'commander';
import { scanCommandLine } from '../command-line.js';
import { Checkout } from '../state/checkout.js';
import { Ledger, type LedgerAhead } from '../state/ledger.js';
import { historyDbFile } from '../state/paths.js';
import { WarmSqlite } from '../store/warm-sqlite.js';
import { buildId } from '../util/build-id.js';
import { ownStartTime } from '../util/proc-start.js';
import type { ReadyShell } from '../util/shell-batch.js';
import type { CliContext } from './context.js';
import { commandLine } from './main.js';
import { Prefetch } from './prefetch.js';

/** The commands the daemon serves: a program is built ahead for each. */
export const SERVED = ['run', 'plan', 'deploy'] as const;

export class Prepared {
  private constructor(
    private readonly store: WarmSqlite | undefined,
    private readonly shell: ReadyShell | undefined,
    private readonly ledger: LedgerAhead,
    private readonly programs: Map<string, Command>,
  ) {}

  /**
   * Prepares for the checkout at `root` (the daemon's); `ctx` is the context the command will run
   * in, complete by then.
   */
  static async for(root: string, ctx: CliContext): Promise<Prepared> {
    // Facts about this process that every run asks for once and that never change.
    buildId();
    ownStartTime();
    const programs = new Map<string, Command>();
    for (const name of SERVED) programs.set(name, await commandLine(ctx, [name]));
    const store = await WarmSqlite.open(historyDbFile(root));
    return new Prepared(store, Checkout.readyShell(root), Ledger.ahead(root), programs);
  }

  /**
   * The command-line program for the user's arguments `args`, built ahead, when they invoke a
   * command it was built for (commander's programs parse once: it is handed out once).
   */
  program(args: readonly string[]): Command | undefined {
    const name = scanCommandLine(args).command;
    const program = name === undefined ? undefined : this.programs.get(name);
    this.programs.clear();
    return program;
  }

  /** The head start of the command `argv`, with what was prepared. */
  start(argv: readonly string[]): Prefetch {
    return Prefetch.start(argv, { store: this.store, shell: this.shell, ledger: this.ledger });
  }

  /**
   * After the command has answered: releases what was prepared (closing the store checkpoints its
   * write-ahead log, which nobody waits for; a shell the command did not use ends).
   */
  async finish(): Promise<void> {
    this.shell?.dispose();
    await this.store?.close().catch(() => {});
  }
}
