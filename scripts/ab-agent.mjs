// An agent of one Slipway build for the deploy A/B scripts (deploy-ab.mjs, deploy-fan-ab.mjs):
// started on 127.0.0.1 port 0 with `root`'s bin/slipway.js (SLIPWAY_AB_AGENT_NODE_ARGS: node
// flags, e.g. a CPU profile), keeping two releases; resolves once it says where it listens.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
      // SLIPWAY_AB_AGENT_STDOUT=FILE: the agent's stdout appended there (e.g. its --trace-gc lines).
      if (process.env.SLIPWAY_AB_AGENT_STDOUT) appendFileSync(process.env.SLIPWAY_AB_AGENT_STDOUT, s);
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
const STATS_PRELOAD = `let base = 0;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
// A daemon's spare: its CPU counts from when it takes its command (cli/spare.ts disconnects then).
process.on('disconnect', () => { base = cpu(); });
process.on('exit', () => {
  const fs = require('node:fs');
  let kb = 0;
  try { kb = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
  if ((process.argv[1] || '').endsWith('daemon-server.js')) return;
  const file = process.env.SLIPWAY_AB_STATS_FILE;
  if (file) { fs.writeFileSync(file + '.tmp', kb + ' ' + (cpu() - base)); fs.renameSync(file + '.tmp', file); }
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
export async function runCold(root, checkout, yml, version, codeCache, daemon = false) {
  if (await writeCheckout(checkout, yml)) await settle();
  const preload = path.join(checkout, 'ab-stats.cjs');
  const summaryFile = path.join(checkout, 'summary.json');
  const statsFile = path.join(checkout, 'stats');
  for (const f of [summaryFile, statsFile]) rmSync(f, { force: true });
  const nodeArgs = (process.env.SLIPWAY_AB_DEPLOYER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // With the daemon: bin/slipway.js executed as a shell runs it (the native client), as the bench does.
  const args = daemon
    ? ['deploy', 'ab']
    : [...nodeArgs, path.join(root, 'bin/slipway.js'), 'deploy', 'ab', '--no-daemon'];
  const spawned = performance.now();
  const p = spawn(daemon ? path.join(root, 'bin/slipway.js') : process.execPath, [...args, '--version', version, '--summary', summaryFile], {
    cwd: checkout,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      SLIPWAY_DAEMON: daemon ? '1' : '0',
      SLIPWAY_CODE_CACHE: codeCache,
      SLIPWAY_AB_STATS_FILE: statsFile,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
    },
  });
  const { out, errs, code } = await collect(p);
  const clientMs = performance.now() - spawned;
  const s = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : undefined;
  const ok = code === 0 && s?.status === 'success';
  // A spare writes its stats as it exits, which may be just after the client has its exit code.
  for (const deadline = Date.now() + 5000; daemon && !existsSync(statsFile) && Date.now() < deadline; )
    await new Promise((r) => setTimeout(r, 10));
  const [maxRssKb, spareCpuMs] = existsSync(statsFile) ? readFileSync(statsFile, 'utf8').split(' ').map(Number) : [0, 0];
  const o = { ok, release: s?.release, reason: s?.reason ?? `exit ${code}: ${out.slice(-400)}`, chunkMs: s?.artifact?.chunkMs ?? 0, bytesSent: s?.transfer?.bytesSent ?? 0, maxRssKb, ...(daemon ? { spareCpuMs } : {}) };
  return { out: `${JSON.stringify(o)}\n`, errs, ...(daemon ? { clientMs } : {}) };
}

/**
 * SLIPWAY_AB_DAEMON=1: the checkout's daemon (of `root`'s build) started if it is not, and a spare
 * of it loaded, so that loading lands on no deploy's time (as the bench waits, cli-deployer.ts).
 */
export async function spareReady(root, checkout) {
  const { askDaemon } = await import(path.join(root, 'dist/src/daemon/control.js'));
  let status = await askDaemon(checkout, 'status');
  if (!status) {
    const env = { ...process.env, SLIPWAY_DAEMON: '1', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(checkout, 'ab-stats.cjs')}`.trim() };
    await collect(spawn(path.join(root, 'bin/slipway.js'), ['daemon', 'start'], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'], env }));
  }
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    status = await askDaemon(checkout, 'status');
    if (status && status.ready > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${checkout}: no daemon spare ready after 60 s`);
}

/** Stops the checkout's daemon, if one runs. */
export async function stopDaemonOf(root, checkout) {
  const { stopDaemon } = await import(path.join(root, 'dist/src/daemon/control.js'));
  await stopDaemon(checkout);
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
