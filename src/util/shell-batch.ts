/**
 * Runs several read-only commands side by side under one `sh`: one process start (a fork of this
 * process, which costs more than anything the commands do) instead of one per command. Each
 * command's stdout comes back on its own pipe with its exit status.
 */
import { type ChildProcess, spawn } from 'node:child_process';

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

/** The environment every batch runs in: the process's own, in the C locale. */
const batchEnv = (): NodeJS.ProcessEnv => ({ ...process.env, LC_ALL: 'C' });

/**
 * Where each command of a batch writes and reads: command i writes to fd 3+i; the k-th command
 * with input reads fd `inputBase`+k.
 */
function layout(commands: readonly BatchCommand[], inputBase: number): Map<number, number> {
  const inputFd = new Map<number, number>();
  for (const [i, c] of commands.entries()) {
    if (c.input !== undefined) inputFd.set(i, inputBase + inputFd.size);
  }
  return inputFd;
}

/** The shell script of a batch: each command's exit status goes to stdout as "i status". */
function batchScript(commands: readonly BatchCommand[], inputFd: ReadonlyMap<number, number>): string {
  const from = (c: BatchCommand, i: number): string =>
    inputFd.has(i) ? ` <&${inputFd.get(i)}` : c.stdin ? ` < ${quote(c.stdin)}` : '';
  return `${commands
    .map((c, i) => `(${c.argv.map(quote).join(' ')}${from(c, i)} >&${3 + i} 2>/dev/null; echo "${i} $?") &`)
    .join('\n')}\nwait\n`;
}

/** The pipes of a batch's shell: stdin (`stdin`), the status on stdout, then the commands' fds. */
function batchStdio(stdin: 'ignore' | 'pipe', outputs: number, inputs: number) {
  return [
    stdin,
    'pipe' as const,
    'ignore' as const,
    ...Array.from({ length: outputs + inputs }, () => 'pipe' as const),
  ];
}

function oneShell(cwd: string, commands: readonly BatchCommand[]): Promise<BatchResult[]> {
  const inputFd = layout(commands, 3 + commands.length);
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', batchScript(commands, inputFd)], {
      cwd,
      stdio: batchStdio('ignore', commands.length, inputFd.size),
      env: batchEnv(),
    });
  } catch {
    return Promise.resolve(failed(commands));
  }
  return collect(child, commands, inputFd);
}

const failed = (commands: readonly BatchCommand[]): BatchResult[] =>
  commands.map(() => ({ code: undefined, out: '' }));

/** Feeds the batch's inputs to `child` and gathers each command's output and status. */
function collect(
  child: ChildProcess,
  commands: readonly BatchCommand[],
  inputFd: ReadonlyMap<number, number>,
): Promise<BatchResult[]> {
  return new Promise((resolve) => {
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
    child.on('error', () => resolve(failed(commands)));
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

/**
 * A batch's shell started ahead of its batch (the daemon's spare starts one while it waits for a
 * command): starting a process from a large one, and setting up its pipes, costs a few
 * milliseconds that then no longer fall in the command. It runs nothing, and reads no state,
 * until `run` hands it the batch: then it changes to the folder given, replaces its whole
 * environment with the one `shellBatch` would give (`env -i`), and runs the batch's script
 * exactly as `shellBatch` runs it, on pipes laid out for up to `outputs` commands, `inputs` of
 * them with input.
 */
export class ReadyShell {
  #used = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly outputs: number,
    private readonly inputs: number,
  ) {}

  /** Starts the waiting shell in `cwd`; undefined when it cannot be started. */
  static start(cwd: string, shape: { outputs: number; inputs: number }): ReadyShell | undefined {
    if (shape.outputs + shape.inputs > FDS_PER_SHELL) return undefined;
    try {
      const child = spawn('sh', ['-s'], { cwd, stdio: batchStdio('pipe', shape.outputs, shape.inputs) });
      child.on('error', () => {});
      child.stdin!.on('error', () => {});
      return new ReadyShell(child, shape.outputs, shape.inputs);
    } catch {
      return undefined;
    }
  }

  /** The waiting shell's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Runs `commands` in `cwd` now, as `shellBatch` would; undefined (nothing started) when they do
   * not fit the pipes, the environment cannot be handed over, or the shell is used or gone. A
   * shell that ended while it waited (killed) answers nothing: then `shellBatch` runs them.
   */
  run(cwd: string, commands: readonly BatchCommand[]): Promise<BatchResult[]> | undefined {
    const inputFd = layout(commands, 3 + this.outputs);
    const env = Object.entries(batchEnv()).filter((e): e is [string, string] => e[1] !== undefined);
    if (
      this.#used ||
      this.child.exitCode !== null ||
      this.child.signalCode !== null ||
      commands.length > this.outputs ||
      inputFd.size > this.inputs ||
      // `env` takes NAME=VALUE: a name it would read as an option or an assignment is not handed over.
      env.some(([k]) => !k || k.startsWith('-') || k.includes('='))
    )
      return undefined;
    this.#used = true;
    const assign = env.map(([k, v]) => quote(`${k}=${v}`)).join(' ');
    this.child.stdin!.end(
      `cd ${quote(cwd)} && exec env -i -- ${assign} sh -c ${quote(batchScript(commands, inputFd))} </dev/null\n`,
    );
    // Pipes the batch does not use: inputs get end-of-file at once; outputs close with the shell.
    for (let fd = 3 + this.outputs + inputFd.size; fd < 3 + this.outputs + this.inputs; fd++)
      (this.child.stdio[fd] as NodeJS.WritableStream).end();
    for (let fd = 3 + commands.length; fd < 3 + this.outputs; fd++)
      (this.child.stdio[fd] as NodeJS.ReadableStream).resume();
    return collect(this.child, commands, inputFd).then((r) =>
      r.some((x) => x.code !== undefined) ? r : shellBatch(cwd, commands),
    );
  }

  /** Lets an unused shell go (it ends at the end of its input); nothing for a used one. */
  dispose(): void {
    if (this.#used) return;
    this.#used = true;
    this.child.stdin!.end();
  }
}
