/**
 * What the daemon's spare (cli/spare.ts) prepares for its checkout while it waits for a command,
 * so the command finds it done: work that does not depend on the request. Each part is checked
 * against the checkout when the command uses it and taken only when it still holds (the store:
 * the same file, unchanged, and asked for); the command does the work itself otherwise. Nothing
 * here reads git or the outputs: those are read when the command comes.
 */
import { historyDbFile } from '../state/paths.js';
import { WarmSqlite } from '../store/warm-sqlite.js';
import { Prefetch } from './prefetch.js';

export class Prepared {
  private constructor(private readonly store: WarmSqlite | undefined) {}

  /** Prepares for the checkout at `root` (the daemon's). */
  static async for(root: string): Promise<Prepared> {
    return new Prepared(await WarmSqlite.open(historyDbFile(root)));
  }

  /** The head start of the command `argv`, with what was prepared. */
  start(argv: readonly string[]): Prefetch {
    return Prefetch.start(argv, { store: this.store });
  }

  /**
   * After the command has answered: releases what was prepared (closing the store checkpoints its
   * write-ahead log, which nobody waits for).
   */
  async finish(): Promise<void> {
    await this.store?.close().catch(() => {});
  }
}
