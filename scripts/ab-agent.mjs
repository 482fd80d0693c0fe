// An agent of one Slipway build for the deploy A/B scripts (deploy-ab.mjs, deploy-fan-ab.mjs):
// started on 127.0.0.1 port 0 with `root`'s bin/slipway.js (SLIPWAY_AB_AGENT_NODE_ARGS: node
// flags, e.g. a CPU profile), keeping two releases; resolves once it says where it listens.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Node flags of one side only (SLIPWAY_AB_SIDE_NODE_ARGS, JSON: build folder -> { agent, deployer }),
 * after the shared ones: e.g. a V8 flag tried on one build against the same build without it.
 */
function sideArgs(root, kind) {
  const all = JSON.parse(process.env.SLIPWAY_AB_SIDE_NODE_ARGS ?? '{}');
  return (all[path.resolve(root)]?.[kind] ?? '').split(' ').filter(Boolean);
}

export async function startAgent(root, dir, tokenFile) {
  const args = ['agent', '--dir', dir, '--listen', '127.0.0.1:0', '--token-file', tokenFile];
  const nodeArgs = [...(process.env.SLIPWAY_AB_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean), ...sideArgs(root, 'agent')];
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
    const nodeArgs = [...(process.env.SLIPWAY_AB_DEPLOYER_NODE_ARGS ?? '').split(' ').filter(Boolean), ...sideArgs(root, 'deployer')];
    const p = spawn(process.execPath, [...nodeArgs, driver, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    void collect(p).then(({ out, errs }) => resolve({ out, errs }));
    onSpawn(p);
  });
}

// Preloaded into a cold deploy (NODE_OPTIONS=--require): its own peak RSS (VmHWM) to
// SLIPWAY_AB_STATS_FILE at exit, as the lean driver prints its own.
const STATS_PRELOAD = `process.on('exit', () => {
  const fs = require('node:fs');
  let kb = 0;
  try { kb = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
  if (process.env.SLIPWAY_AB_STATS_FILE) fs.writeFileSync(process.env.SLIPWAY_AB_STATS_FILE, String(kb));
});
`;

/**
 * Writes the cold deploys' checkout: its slipway.yml (`yml`) and the stats preload; true when a
 * file changed. A file just written is racy (state/racy.ts): the CLI would not keep its pipeline
 * snapshot and would parse the YAML again at each deploy until one deploy came 2 s later (`settle`).
 */
export async function writeCheckout(checkout, yml) {
  mkdirSync(checkout, { recursive: true });
  let changed = false;
  for (const [name, text] of [['slipway.yml', yml], ['ab-stats.cjs', STATS_PRELOAD]]) {
    const file = path.join(checkout, name);
    if (existsSync(file) && readFileSync(file, 'utf8') === text) continue;
    writeFileSync(file, text);
    changed = true;
  }
  return changed;
}

/** Waits until files written now are no longer racy (2 s, state/racy.ts), so the next deploy's pipeline snapshot is kept. */
export const settle = () => new Promise((r) => setTimeout(r, 2100));

/**
 * Runs one deploy as CI does (SLIPWAY_AB_COLD=1): `node <root>/bin/slipway.js deploy ab --no-daemon`
 * in a fresh process, in the checkout `checkout` whose slipway.yml names the agent (written here
 * from `yml`), with its V8 code cache in the folder `codeCache` (cli/cold-start.ts): one per build,
 * since a build writing its cache removes every other build's from the folder. Resolves with what `runDriver` prints: ok, release, reason, chunkMs, bytesSent, maxRssKb.
 */
export async function runCold(root, checkout, yml, version, codeCache) {
  if (await writeCheckout(checkout, yml)) await settle();
  const preload = path.join(checkout, 'ab-stats.cjs');
  const summaryFile = path.join(checkout, 'summary.json');
  const statsFile = path.join(checkout, 'stats');
  for (const f of [summaryFile, statsFile]) rmSync(f, { force: true });
  const nodeArgs = (process.env.SLIPWAY_AB_DEPLOYER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const args = [...nodeArgs, path.join(root, 'bin/slipway.js'), 'deploy', 'ab', '--no-daemon'];
  const p = spawn(process.execPath, [...args, '--version', version, '--summary', summaryFile], {
    cwd: checkout,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SLIPWAY_DAEMON: '0',
      SLIPWAY_CODE_CACHE: codeCache,
      SLIPWAY_AB_STATS_FILE: statsFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
    },
  });
  const { out, errs, code } = await collect(p);
  const s = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : undefined;
  const ok = code === 0 && s?.status === 'success';
  const maxRssKb = existsSync(statsFile) ? Number(readFileSync(statsFile, 'utf8')) : 0;
  const o = { ok, release: s?.release, reason: s?.reason ?? `exit ${code}: ${out.slice(-400)}`, chunkMs: s?.artifact?.chunkMs ?? 0, bytesSent: s?.transfer?.bytesSent ?? 0, maxRssKb };
  return { out: `${JSON.stringify(o)}\n`, errs };
}

/** A child's stdout and stderr as text, and its exit code, once it closes. */
function collect(p) {
  let out = '';
  let errs = '';
  p.stdout.on('data', (d) => {
    out += d;
  });
  p.stderr.on('data', (d) => {
    errs += d;
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ out, errs, code })));
}

/**
 * Folders done with, moved aside into `<work>/discarded` (removed by the caller when its run ends):
 * `discard(dir)` renames `dir` there, if it exists.
 */
export function discarder(work) {
  const discarded = path.join(work, 'discarded');
  let discards = 0;
  const discard = (dir) => {
    if (!existsSync(dir)) return;
    mkdirSync(discarded, { recursive: true });
    renameSync(dir, path.join(discarded, `${process.pid}-${discards++}`));
  };
  return { discarded, discard };
}
