/**
 * The one look at argv before commander parses it: which command runs and which pipeline file
 * it names, skipping global options and their values. Used to load only the command invoked
 * (commands.ts) and to start the head start early (prefetch.ts); a misreading costs only that.
 */

export interface CommandLine {
  /** The first argument that is not a global option or its value. */
  command?: string;
  /** The value of -f/--file, if given. */
  file?: string;
}

/** Scans the user's arguments (argv without node and the script). */
export function scanCommandLine(args: readonly string[]): CommandLine {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f' || a === '--file') file = args[++i] ?? file;
    else if (a.startsWith('--file=')) file = a.slice('--file='.length);
    else if (a === '--store') i++;
    else if (!a.startsWith('-')) return { command: a, ...(file !== undefined ? { file } : {}) };
  }
  return file !== undefined ? { file } : {};
}
