/**
 * Runs several read-only commands side by side under one `sh`: one process start (a fork of this
 * process, which costs more than anything the commands do) instead of one per command. Each
 * command's stdout comes back on its own pipe with its exit status.
 */
import { spawn } from 'node:child_process';

export interface BatchCommand {
  argv: string[];
  /** A file to read stdin from. */
  stdin?: string;
  /** Text to give the command on stdin (through a pipe of its own). */
  input?: string;
}

export interface BatchResult {
  /** Exit status; undefined when the command could not be run at all. */
  code: number | undefined;
  out: string;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// Each command writes to a descriptor of its own (and reads one with `input`), and POSIX shells
// (dash) only take single-digit descriptors: 3 to 9.
const FDS_PER_SHELL = 7;
const fdsOf = (c: BatchCommand): number => (c.input === undefined ? 1 : 2);

/**
 * Runs `commands` side by side in `cwd`; never rejects (a command that could not run has no
 * exit code).
 */
export async function shellBatch(cwd: string, commands: readonly BatchCommand[]): Promise<BatchResult[]> {
  const groups: BatchCommand[][] = [[]];
  let fds = 0;
  for (const c of commands) {
    if (fds + fdsOf(c) > FDS_PER_SHELL) {
      groups.push([]);
      fds = 0;
    }
    groups.at(-1)!.push(c);
    fds += fdsOf(c);
  }
  if (groups.length === 1) return oneShell(cwd, commands);
  return (await Promise.all(groups.map((g) => oneShell(cwd, g)))).flat();
}

function oneShell(cwd: string, commands: readonly BatchCommand[]): Promise<BatchResult[]> {
  const failed = (): BatchResult[] => commands.map(() => ({ code: undefined, out: '' }));
  // Command i writes to fd 3+i, and a command with input reads the next free fd; its exit status
  // goes to stdout as "i status".
  const inputFd = new Map<number, number>();
  for (const [i, c] of commands.entries()) {
    if (c.input !== undefined) inputFd.set(i, 3 + commands.length + inputFd.size);
  }
  const from = (c: BatchCommand, i: number): string =>
    inputFd.has(i) ? ` <&${inputFd.get(i)}` : c.stdin ? ` < ${quote(c.stdin)}` : '';
  const script = `${commands
    .map((c, i) => `(${c.argv.map(quote).join(' ')}${from(c, i)} >&${3 + i} 2>/dev/null; echo "${i} $?") &`)
    .join('\n')}\nwait\n`;
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('sh', ['-c', script], {
        cwd,
        stdio: [
          'ignore',
          'pipe',
          'ignore',
          ...commands.map(() => 'pipe' as const),
          ...[...inputFd.keys()].map(() => 'pipe' as const),
        ],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch {
      resolve(failed());
      return;
    }
    for (const [i, fd] of inputFd) {
      const sink = child.stdio[fd] as NodeJS.WritableStream;
      // A command that exits without reading all of it closes the pipe: not our error.
      sink.on('error', () => {});
      sink.end(commands[i]!.input ?? '');
    }
    const chunks: Buffer[][] = commands.map(() => []);
    commands.forEach((_, i) => {
      (child.stdio[3 + i] as NodeJS.ReadableStream).on('data', (b: Buffer) => chunks[i]!.push(b));
    });
    let status = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (t: string) => {
      status += t;
    });
    child.on('error', () => resolve(failed()));
    child.on('close', () => {
      const codes = new Map<number, number>();
      for (const line of status.split('\n')) {
        const [i, code] = line.split(' ');
        if (i && code) codes.set(Number(i), Number(code));
      }
      resolve(
        commands.map((_, i) => ({ code: codes.get(i), out: Buffer.concat(chunks[i]!).toString('utf8') })),
      );
    });
  });
}
