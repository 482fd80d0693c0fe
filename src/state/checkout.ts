/**
 * One checkout as a command sees it: its ledger, read once, and two read-only probes started as
 * early as possible so their child processes work while the CLI loads: git's view of the
 * repository (where, index, status, HEAD) and the stat records of every output path the ledger
 * lists. Both run under one shell, on another core. Everything that needs them (the pipeline
 * snapshot, the hasher, the output state, the run's HEAD) asks this object.
 */
import { GIT_FACT_COMMANDS, type GitFacts, gitFacts, readGitFacts } from '../util/git-facts.js';
import { ReadyShell, shellBatch } from '../util/shell-batch.js';
import { Ledger, type LedgerAhead } from './ledger.js';
import { statCommand, statText } from './stat-batch.js';

/** What a checkout may be given ready-made (the daemon's spare prepares these while it waits). */
export interface CheckoutHeadStart {
  /** A shell waiting for the probes' batch (`Checkout.readyShell`). */
  shell?: ReadyShell;
  /** The ledger, read ahead (`Ledger.ahead`): taken when it is still the file on disk. */
  ledger?: LedgerAhead;
}

export class Checkout {
  #ledger: Ledger | undefined;
  #git: Promise<GitFacts> | undefined;
  #outputs: Promise<string | undefined> | undefined;

  constructor(
    /** The pipeline folder. */
    readonly root: string,
    private readonly given: CheckoutHeadStart = {},
  ) {}

  /** A shell started now for the probes of a checkout that comes later (it reads nothing until then). */
  static readyShell(cwd: string): ReadyShell | undefined {
    return ReadyShell.start(cwd, { outputs: GIT_FACT_COMMANDS.length + 1, inputs: 1 });
  }

  /** The ledger, loaded on first use. */
  get ledger(): Ledger {
    this.#ledger ??= this.given.ledger?.take(this.root) ?? Ledger.load(this.root);
    return this.#ledger;
  }

  /** Starts both probes now (once). */
  probe(): this {
    if (this.#git) return this;
    const list = this.ledger.outputList;
    const commands = list ? [...GIT_FACT_COMMANDS, statCommand(list)] : GIT_FACT_COMMANDS;
    const all = this.given.shell?.run(this.root, commands) ?? shellBatch(this.root, commands);
    this.#git = all.then((r) => gitFacts(r.slice(0, GIT_FACT_COMMANDS.length)));
    this.#outputs = list ? all.then((r) => statText(r[GIT_FACT_COMMANDS.length]!)) : undefined;
    return this;
  }

  /** Git's facts for the pipeline folder (read now if `probe` did not start them). */
  git(): Promise<GitFacts> {
    const git = this.#git ?? readGitFacts(this.root);
    this.#git = git;
    return git;
  }

  /**
   * stat's answer for the ledger's output paths, when the probe ran and GNU stat answered; a
   * caller compares it with the ledger's output text, and stats in-process otherwise.
   */
  outputStats(): Promise<string | undefined> | undefined {
    return this.#outputs;
  }

  /**
   * The same checkout, read again: for a command that waited for another run's lock, whose
   * ledger and probes now describe the tree as it was before that run ended.
   */
  reread(): Checkout {
    return new Checkout(this.root).probe();
  }
}
