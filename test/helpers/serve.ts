/** `slipway serve` as a real process on port 0: the URL it prints, and a stop that waits for exit. */
import { type CliProcess, type RunOptions, spawnCli, waitFor } from './cli.js';

export interface Served {
  url: string;
  proc: CliProcess;
  stop(): Promise<void>;
}

export async function startServe(args: string[], opts: RunOptions): Promise<Served> {
  // A server lives for the whole test file: no kill after the CLI helper's default 30 s.
  const proc = spawnCli(['serve', '--listen', '127.0.0.1:0', ...args], { timeoutMs: 30 * 60_000, ...opts });
  let exited = false;
  void proc.done.then(() => {
    exited = true;
  });
  const url = await waitFor(
    () => {
      if (exited) throw new Error(`slipway serve exited: ${proc.stderr()}`);
      return /slipway serve: (http:\/\/127\.0\.0\.1:\d+)\//.exec(proc.stdout())?.[1];
    },
    { timeoutMs: 60_000, what: 'slipway serve to print its address' },
  );
  return {
    url,
    proc,
    stop: async () => {
      if (!exited) proc.child.kill('SIGTERM');
      await proc.done;
    },
  };
}
