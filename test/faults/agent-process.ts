/**
 * A deploy agent as a real process of the built CLI, for the crash tests: on 127.0.0.1 port 0
 * (the port it prints, so nothing races for one), with an optional failpoint. Every process
 * started is pushed on `procs` so that the test can kill what is left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(import.meta.dirname, '../../bin/slipway.js');

export async function startAgentProcess(o: {
  dir: string;
  tokenFile: string;
  procs: ChildProcess[];
  failpoint?: string;
}): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(
    process.execPath,
    [BIN, 'agent', '--dir', o.dir, '--listen', '127.0.0.1:0', '--token-file', o.tokenFile],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLIPWAY_FAILPOINT: o.failpoint ?? '' } },
  );
  o.procs.push(proc);
  let out = '';
  proc.stderr?.on('data', (d) => {
    out += String(d);
  });
  const port = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`agent exited ${code}: ${out}`)));
  });
  return { proc, url: `http://127.0.0.1:${port}` };
}

/** startAgentProcess bound to a test's token file (read when called) and its process list. */
export function agentStarter(
  tokenFile: () => string,
  procs: ChildProcess[],
): (dir: string, failpoint?: string) => Promise<{ proc: ChildProcess; url: string }> {
  return (dir, failpoint) =>
    startAgentProcess({ dir, tokenFile: tokenFile(), procs, ...(failpoint ? { failpoint } : {}) });
}
