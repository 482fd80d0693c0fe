// An agent of one Slipway build for the deploy A/B scripts (deploy-ab.mjs, deploy-fan-ab.mjs):
// started on 127.0.0.1 port 0 with `root`'s bin/slipway.js (SLIPWAY_AB_AGENT_NODE_ARGS: node
// flags, e.g. a CPU profile), keeping two releases; resolves once it says where it listens.
import { spawn } from 'node:child_process';
import path from 'node:path';

export async function startAgent(root, dir, tokenFile) {
  const args = ['agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile];
  const nodeArgs = (process.env.SLIPWAY_AB_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, path.join(root, 'bin/slipway.js'), ...args, '--keep', '2'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    proc.stdout.setEncoding('utf8').on('data', (s) => {
      out += s;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (code) => reject(new Error(`agent exited ${code}: ${out}`)));
  });
  return { proc, port, dir };
}

/**
 * Runs one deploy by `root`'s lean driver (dist/bench/deploy-driver.bundle.js) with its JSON
 * argument (SLIPWAY_AB_DEPLOYER_NODE_ARGS: node flags); `onSpawn` sees the process as it starts.
 * Resolves with its stdout and stderr once it has closed.
 */
export function runDriver(root, arg, onSpawn = () => {}) {
  const driver = path.join(root, 'dist/bench/deploy-driver.bundle.js');
  return new Promise((resolve) => {
    const nodeArgs = (process.env.SLIPWAY_AB_DEPLOYER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const p = spawn(process.execPath, [...nodeArgs, driver, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errs = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      errs += d;
    });
    p.on('close', () => resolve({ out, errs }));
    onSpawn(p);
  });
}
