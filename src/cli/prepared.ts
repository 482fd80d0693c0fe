/**
 * What the daemon's spare (cli/spare.ts) prepares for its checkout while it waits for a command,
 * so the command finds it done: work that does not depend on the request. Each part is checked
 * against the checkout when the command uses it and taken only when it still holds (the store:
 * the same file, unchanged, and asked for); the command does the work itself otherwise. Nothing
 * here reads git or the outputs: the probes' shell is started, but it runs git and stat only when
 * the command hands it their batch, in the command's folder and environment.
 */
import { Checkout } from '../state/checkout.js';
import { historyDbFile } from '../state/paths.js';
import { WarmSqlite } from '../store/warm-sqlite.js';
import type { ReadyShell } from '../util/shell-batch.js';
import { Prefetch } from './prefetch.js';

export class Prepared {
  private constructor(
    private readonly store: WarmSqlite | undefined,
    private readonly shell: ReadyShell | undefined,
  ) {}

  /** Prepares for the checkout at `root` (the daemon's). */
  static async for(root: string): Promise<Prepared> {
    return new Prepared(await WarmSqlite.open(historyDbFile(root)), Checkout.readyShell(root));
  }

  /** The head start of the command `argv`, with what was prepared. */
  start(argv: readonly string[]): Prefetch {
    return Prefetch.start(argv, { store: this.store, shell: this.shell });
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
