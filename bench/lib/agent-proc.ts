/**
 * Agents (and the deploy bench's other receivers) as child processes: the URL a process says it
 * listens on, an agent started behind a counting proxy, and stopping one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { type CountingProxy, countingProxy } from './count-proxy.js';

/** The URL `proc` prints once it listens ("listening on http://..."); rejects if it exits first. */
export async function listeningUrl(proc: ChildProcess, what: string): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${out}`)));
  });
}

/** An agent process on 127.0.0.1 and the proxy that counts its bytes. */
export interface BenchAgent {
  proc: ChildProcess;
  dir: string;
  proxy: CountingProxy;
}

/** `slipway agent` in `dir` on a free port, keeping two releases, behind a counting proxy. */
export async function startBenchAgent(bin: string, dir: string, tokenFile: string): Promise<BenchAgent> {
  const proc = spawn(
    process.execPath,
    [bin, 'agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--keep', '2'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = Number(new URL(await listeningUrl(proc, 'agent')).port);
  return { proc, dir, proxy: await countingProxy(port) };
}

export async function stopBenchAgent(a: BenchAgent): Promise<void> {
  await a.proxy.close();
  if (a.proc.exitCode === null && a.proc.signalCode === null) {
    a.proc.kill('SIGTERM');
    await once(a.proc, 'exit');
  }
}
