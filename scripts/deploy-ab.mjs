// A/B of two Slipway builds on one deploy shape, for changes measured on a shared machine: each
// build deploys the same source folder to an agent of its own (its own chunk ledger too), the two
// alternating who goes first, one pair per step of a change. Prints each pair (wall ms, CPU ms of
// deployer and agent together and of the agent alone, its main thread's CPU with the kernel's
// share of it and the ms it waited for a CPU while runnable (schedstat: on a loaded machine the
// agent's main thread, a first deploy's bottleneck, waited 300-1,000 ms), the walk's ms, peak RSS
// of each, the agent's pid for `perf script`), then medians and the median ratio B/A.
// Builds are folders with bin/ and dist/ (keep the old one: `cp -r bin dist package.json /tmp/x`).
//
//   node scripts/deploy-ab.mjs <web|big|small> <pairs> <change,...> <buildA> <buildB>
//   e.g. node scripts/deploy-ab.mjs small 4 'nothing,1%,10%,4 KB shift' /tmp/old .
//
// The change `first` edits nothing and makes each deploy a first one: each side's agent starts
// afresh on an empty folder and its chunk ledger is removed before it deploys.
//
// Env: SLIPWAY_AB_DIR (work folder, default a temporary one; kept, with its source and agents,
// so a second run skips the first deploys), SLIPWAY_AB_STEP (seed of the first change, so runs
// in the same folder edit different files), SLIPWAY_AB_AGENT_NODE_ARGS (node flags of both agents,
// e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof': written when the agents stop), SLIPWAY_AB_DEPLOYER_NODE_ARGS
// (the same for each deploy's driver process), SLIPWAY_AB_DEPLOYER_STDERR=1
// (each deployer's stderr, e.g. its SLIPWAY_TRACE=1 spans, printed after its deploy), SLIPWAY_AB_COLD=1
// (each deploy as CI runs it: `node bin/slipway.js deploy --no-daemon` in a fresh process, in a
// checkout of each side's own under the work folder, its ledger and store there), SLIPWAY_AB_DAEMON=1
// (the same through each checkout's daemon, as the bench runs it: bin/slipway.js executed, both
// sides' spares loaded before the clock starts, the client's own time; the spare's CPU from its
// stats), SLIPWAY_AB_KEEP=1
// (the agents' folders done with are left in <work>/discarded, not removed at the end: removing
// 20,000-file trees stalls the file creation of the deploys that follow for minutes), SLIPWAY_AB_THREADS=1
// (the agent's CPU ms per thread name, user/system, printed after each deploy: its pool's kernel time). Every deploy is checked byte-identical (diff -r).
import { discarder, runCold, runDriver, settle, spareReady, startAgent as startAgentOf, stopDaemonOf, writeCheckout } from './ab-agent.mjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const [shapeName, pairsArg, changesArg, ...builds] = process.argv.slice(2);
if (!shapeName || !pairsArg || !changesArg || builds.length !== 2) {
  console.error('usage: node scripts/deploy-ab.mjs <web|big|small> <pairs> <change,...> <buildA> <buildB>');
  process.exit(2);
}
const roots = builds.map((b) => path.resolve(b));
// A build copied out of its checkout finds no node_modules, so no zstd-napi: it deploys with
// Brotli, and the A/B compares codecs instead of builds. Both sides must load the same codecs.
const zstdLoads = (root) => {
  try {
    createRequire(path.join(root, 'dist/src/deploy/zstd.js'))('zstd-napi/binding');
    return true;
  } catch {
    return false;
  }
};
const loads = roots.map(zstdLoads);
if (loads[0] !== loads[1]) {
  const lacking = roots[loads.indexOf(false)];
  console.error(`${lacking} cannot load zstd-napi (no node_modules there?); e.g. ln -s ${path.resolve('node_modules')} ${lacking}/node_modules`);
  process.exit(2);
}
const here = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { writeShape, applyChange } = await import(path.join(here, 'dist/bench/lib/deploy-shapes.js'));
const { cpuMs, takePeakKb } = await import(path.join(here, 'dist/bench/lib/proc-stats.js'));
const work = process.env.SLIPWAY_AB_DIR ?? path.join(os.tmpdir(), `slipway-ab-${shapeName}`);
const src = path.join(work, 'src');
const shapeFile = path.join(work, 'shape.json');
const TOKEN = 'deploy-ab-token-0123456789abcdef';
const fresh = !existsSync(shapeFile);
if (fresh) {
  mkdirSync(src, { recursive: true });
  writeFileSync(shapeFile, JSON.stringify(writeShape(src, shapeName, 1)));
}
const shape = JSON.parse(readFileSync(shapeFile, 'utf8'));
writeFileSync(path.join(work, 'token'), TOKEN);

const startAgent = (root, dir) => startAgentOf(root, dir, path.join(work, 'token'));

// SLIPWAY_AB_DAEMON=1: as SLIPWAY_AB_COLD, but through each checkout's daemon (bin/slipway.js as a
// shell runs it), both sides' spares loaded before each deploy, as the bench runs it.
const viaDaemon = process.env.SLIPWAY_AB_DAEMON === '1';
const cold = process.env.SLIPWAY_AB_COLD === '1' || viaDaemon;
const sides = [];
for (const [i, root] of roots.entries()) {
  const checkout = path.join(work, `cold${i}`);
  const ledger = cold ? path.join(checkout, '.slipway', 'deploy-ledger') : path.join(work, `ledger${i}`);
  const codeCache = path.join(work, `v8-${i}`);
  sides.push({ name: 'AB'[i], root, agent: await startAgent(root, path.join(work, `agent${i}`)), ledger, checkout, codeCache });
}

/** A cold deploy's slipway.yml: the driver's environment (envOf) as a user writes it. */
const ymlOf = (s) =>
  [
    'version: 1',
    'environments:',
    '  ab:',
    `    artifact: ${JSON.stringify(src)}`,
    `    token: { file: ${JSON.stringify(path.join(work, 'token'))} }`,
    '    keepReleases: 2',
    '    relay: false',
    '    origin: { listen: "127.0.0.1:0" }',
    '    strategy: { waves: [[r1]], maxUnavailable: 1, bake: 0, minSamples: 1, stageParallelism: 8 }',
    '    regions:',
    '      r1:',
    '        traffic: 100',
    '        targets:',
    '          - name: t1',
    `            agent: http://127.0.0.1:${s.agent.port}`,
    '',
  ].join('\n');

const envOf = (s) => ({
  name: 'ab', artifact: src, env: {}, keepReleases: 2, relay: false,
  origin: { host: '127.0.0.1', port: 0 }, waves: [['r1']], bakeMs: 0, minSamples: 1, stageParallelism: 8,
  regions: [{ name: 'r1', traffic: 1, maxUnavailable: 1,
    targets: [{ name: 't1', region: 'r1', agentUrl: `http://127.0.0.1:${s.agent.port}`, token: TOKEN, env: {} }] }],
});

/** A process's main thread's ms on a CPU and waiting for one (runnable), from schedstat. */
function schedMs(pid) {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { run: run / 1e6, wait: wait / 1e6 };
  } catch {
    return { run: 0, wait: 0 };
  }
}

/** CPU ms of a process's main thread alone (its thread pool's and workers' left out). */
function mainThreadMs(pid) {
  const { user, sys } = mainThreadSplit(pid);
  return user + sys;
}

/** The same, in user and kernel (system) time. */
function mainThreadSplit(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return { user: f[11] * 10, sys: f[12] * 10 };
  } catch {
    return { user: 0, sys: 0 };
  }
}

/** Per thread name: user and sys ms of a process's threads (debug). */
function threadsMs(pid) {
  const out = {};
  try {
    for (const t of require('node:fs').readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
        const o = (out[t === String(pid) ? 'main' : name] ??= { u: 0, s: 0 });
        o.u += f[11] * 10;
        o.s += f[12] * 10;
      } catch {}
    }
  } catch {}
  return out;
}
const require = createRequire(import.meta.url);
const threadDiff = (a, b) => Object.entries(b).map(([k, v]) => `${k} ${v.u - (a[k]?.u ?? 0)}/${v.s - (a[k]?.s ?? 0)}`).join(', ');
let serial = Date.now() % 100_000;
async function deploy(s) {
  const version = `v${serial++}`;
  // Neither side's spare still loading (the other's, after its deploy) while this one deploys:
  // waited for before the clock starts, as the bench waits (cli-deployer.ts).
  if (viaDaemon) for (const o of sides) await spareReady(o.root, o.checkout);
  const { pid } = s.agent.proc;
  takePeakKb(pid);
  // With its reaped children: the `sync -f` processes an agent before the native syncfs forked.
  const agent0 = cpuMs(pid) + cpuMs(pid, true);
  const main0 = mainThreadMs(pid);
  const sys0 = mainThreadSplit(pid).sys;
  const sched0 = schedMs(pid);
  const th0 = threadsMs(pid);
  const cpu0 = cpuMs(process.pid, true) + agent0;
  const t0 = performance.now();
  const r = cold
    ? await runCold(s.root, s.checkout, ymlOf(s), version, s.codeCache, viaDaemon)
    : await runDriver(s.root, JSON.stringify({ env: envOf(s), version, ledgerDir: s.ledger }));
  if (process.env.SLIPWAY_AB_DEPLOYER_STDERR === '1') process.stderr.write(r.errs);
  // Through the daemon, the client's own time (not the wait for the spare's stats after it).
  const ms = r.clientMs ?? performance.now() - t0;
  const agentCpu = cpuMs(pid) + cpuMs(pid, true) - agent0;
  const agentMain = mainThreadMs(pid) - main0;
  const agentSys = mainThreadSplit(pid).sys - sys0;
  const sched1 = schedMs(pid);
  const agentWait = sched1.wait - sched0.wait;
  if (process.env.SLIPWAY_AB_THREADS === '1') console.log(`  agent threads user/sys: ${threadDiff(th0, threadsMs(pid))}`);
  const o = JSON.parse(r.out.trim().split('\n').pop() || '{}');
  // A spare is the daemon's child, not this process's: its own CPU from its stats.
  const cpu = cpuMs(process.pid, true) + agentCpu + agent0 - cpu0 + (o.spareCpuMs ?? 0);
  if (!o.ok) throw new Error(`${s.name}: deploy failed: ${o.reason ?? r.errs.slice(-800)}`);
  const d = spawnSync('diff', ['-r', '--no-dereference', src, `${path.join(s.agent.dir, 'releases', o.release)}/`]);
  if (d.status !== 0) throw new Error(`${s.name}: release ${o.release} differs from its source`);
  return { ms, pid, cpu, agentCpu, agentMain, agentSys, agentWait, walkMs: o.chunkMs, deployerMb: o.maxRssKb / 1024, agentMb: takePeakKb(pid) / 1024 };
}

// Folders done with are moved aside and removed when the run ends: removing 20,000 files just
// before a deploy makes ext4 here scan past the recently deleted inodes at each file the next
// deploy creates (perf: ext4_create -> find_inode_bit -> recently_deleted), and the side that
// deployed right after the removal paid several seconds for it.
const { discarded, discard } = discarder(work);

/** Each side's agent restarted on an empty folder, its ledger gone: the next deploys are first ones. */
async function afresh() {
  for (const [i, s] of sides.entries()) {
    const { proc } = s.agent;
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await gone;
    }
    for (const dir of [s.agent.dir, s.ledger]) discard(dir);
    s.agent = await startAgent(s.root, path.join(work, `agent${i}`));
  }
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const show = (s, g) =>
  `${s.name} ${g.ms.toFixed(0)} ms (agent pid ${g.pid}), cpu ${g.cpu.toFixed(0)} (agent ${g.agentCpu.toFixed(0)}, its main thread ${g.agentMain.toFixed(0)} of which kernel ${g.agentSys.toFixed(0)}, waiting for a CPU ${g.agentWait.toFixed(0)}), walk ${g.walkMs.toFixed(0)}, rss ${g.deployerMb.toFixed(0)}/${g.agentMb.toFixed(0)} MB`;

/** Cold: each side's checkout written for its agent, then aged past the racy window (one wait for both). */
async function prepareCheckouts() {
  if (!cold) return;
  let changed = false;
  for (const s of sides) changed = (await writeCheckout(s.checkout, ymlOf(s))) || changed;
  if (changed) await settle();
}

try {
  await prepareCheckouts();
  // A first deploy each (or, in a kept folder, one unchanged deploy each) before any pair.
  for (const s of sides) console.log(`warm-up ${show(s, await deploy(s))}`);
  let step = Number(process.env.SLIPWAY_AB_STEP ?? 100);
  for (const change of changesArg.split(',')) {
    const got = sides.map(() => []);
    const ratios = [];
    for (let k = 0; k < Number(pairsArg); k++) {
      if (change === 'first') {
        await afresh();
        await prepareCheckouts();
      }
      else applyChange(src, shape, change, step++);
      const pair = [];
      for (const i of k % 2 ? [1, 0] : [0, 1]) {
        spawnSync('sync'); // nothing of the deploy before left to write back
        pair[i] = await deploy(sides[i]);
      }
      pair.forEach((g, i) => got[i].push(g));
      ratios.push(pair[1].ms / pair[0].ms);
      console.log(`${change} pair ${k}: ${pair.map((g, i) => show(sides[i], g)).join(' | ')}; load ${load()}`);
    }
    const sum = (i) =>
      `${sides[i].name} median ${median(got[i].map((g) => g.ms)).toFixed(0)} ms, cpu ${median(got[i].map((g) => g.cpu)).toFixed(0)} (agent ${median(got[i].map((g) => g.agentCpu)).toFixed(0)}), peak rss ${Math.max(...got[i].map((g) => g.deployerMb)).toFixed(0)}/${Math.max(...got[i].map((g) => g.agentMb)).toFixed(0)} MB`;
    console.log(`== ${change}: ${sum(0)} | ${sum(1)} | B/A median of pairs ${median(ratios).toFixed(3)}`);
  }
} finally {
  for (const s of sides) s.agent.proc.kill('SIGTERM');
  if (viaDaemon) for (const s of sides) await stopDaemonOf(s.root, s.checkout);
  // SLIPWAY_AB_KEEP=1: left for the caller, so the next run's first deploys do not follow a removal.
  if (process.env.SLIPWAY_AB_KEEP !== '1') rmSync(discarded, { recursive: true, force: true });
}
