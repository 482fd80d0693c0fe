// A/B of two Slipway builds on the bench's fan-out case: the web shape's first deploy to six
// fresh agents at once (bench/deploy-rsync.ts, "Fan-out"), each build with six agents of its own
// started afresh for every deploy, the two builds alternating who goes first. Prints each pair
// (wall ms; CPU ms of deployer plus six agents, user and all; the deployer's alone), then medians
// and the median ratios B/A of wall and CPU. Every release is checked byte-identical (diff -r).
// Builds are folders with bin/ and dist/ (keep the old one: `cp -r bin dist package.json /tmp/x`).
//
//   node scripts/deploy-fan-ab.mjs <pairs> <buildA> <buildB> [agents=6]
//
// Env: SLIPWAY_AB_DIR (work folder, default a temporary one), SLIPWAY_AB_AGENT_NODE_ARGS and
// SLIPWAY_AB_DEPLOYER_NODE_ARGS (node flags, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'),
// SLIPWAY_AB_KEEP=1 (the folders deployed to are left, not removed at the end),
// SLIPWAY_AB_PERF=PREFIX (`perf record -a -g` over each deploy), SLIPWAY_AB_DEPLOYER_STDERR=1 (each deployer's stderr, e.g. SLIPWAY_TRACE=1 spans), SLIPWAY_AB_RSYNC=1
// (six parallel `rsync -z` to a loopback daemon too, after each pair, for reference),
// SLIPWAY_AB_COLD=1 (each deploy as CI runs it: `node bin/slipway.js deploy --no-daemon` in a fresh
// process, in a checkout of each side's own whose slipway.yml names that deploy's six agents, as
// deploy-ab.mjs does; the file changes with the agents' ports, so each deploy parses it).
import { discarder, runCold, runDriver, startAgent as startAgentOf, writeCheckout, settle } from './ab-agent.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [pairsArg, ...rest] = process.argv.slice(2);
const builds = rest.slice(0, 2);
const N = Number(rest[2] ?? 6);
if (!pairsArg || builds.length !== 2) {
  console.error('usage: node scripts/deploy-fan-ab.mjs <pairs> <buildA> <buildB> [agents]');
  process.exit(2);
}
const roots = builds.map((b) => path.resolve(b));
const here = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { writeShape } = await import(path.join(here, 'dist/bench/lib/deploy-shapes.js'));
// SLIPWAY_AB_PROXY=1: the origin's chunks and rsync's bytes through a counting TCP proxy in this
// process, as the bench has them (bench/lib/count-proxy.ts): bytes on the wire cost CPU there.
const proxied = process.env.SLIPWAY_AB_PROXY === '1';
const { countingProxy, freePort } = await import(path.join(here, 'dist/bench/lib/count-proxy.js'));
let originProxy;
const work = process.env.SLIPWAY_AB_DIR ?? path.join(os.tmpdir(), 'slipway-fan-ab');
const src = path.join(work, 'src');
const TOKEN = 'deploy-ab-token-0123456789abcdef';
if (!existsSync(path.join(work, 'shape.json'))) {
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(work, 'shape.json'), JSON.stringify(writeShape(src, 'web', 1)));
}
writeFileSync(path.join(work, 'token'), TOKEN);

const TICK = 10;
/** [user, system] CPU ms of a process, or of its reaped children. */
function cpu(pid, reaped = false) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return reaped ? [f[13] * TICK, f[14] * TICK] : [f[11] * TICK, f[12] * TICK];
  } catch {
    return [0, 0];
  }
}

/**
 * An agent's [user, system] CPU ms with its reaped children's (the `sync -f` processes an agent
 * before the native syncfs forked): a build that flushes in its own process and one that forks
 * are charged alike.
 */
function agentCpu(pid) {
  const own = cpu(pid);
  const kids = cpu(pid, true);
  return [own[0] + kids[0], own[1] + kids[1]];
}

const startAgent = (root, dir) => startAgentOf(root, dir, path.join(work, 'token'));

async function stopAgent(a) {
  const { proc } = a;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await gone;
}

const { discarded, discard } = discarder(work);

// SLIPWAY_AB_PARALLEL='A,B': each side's stageParallelism (default 8, as the bench's).
const parallelism = (process.env.SLIPWAY_AB_PARALLEL ?? '8,8').split(',').map(Number);
// SLIPWAY_AB_COMPRESSION='A,B': each side's origin.compression (default auto).
const compression = (process.env.SLIPWAY_AB_COMPRESSION ?? 'auto,auto').split(',').map((c) => (c === 'auto' || c === 'none' ? c : Number(c)));
// SLIPWAY_AB_RELAY='A,B': each side's relay (0 or 1; default 0, as the bench's).
const relay = (process.env.SLIPWAY_AB_RELAY ?? '0,0').split(',').map((r) => r === '1');
const envOf = (agents, side) => ({
  name: 'ab', artifact: src, env: {}, keepReleases: 2, relay: relay['AB'.indexOf(side.name)],
  origin: { host: '127.0.0.1', port: originProxy?.target ?? 0, ...(originProxy ? { url: originProxy.url } : {}), compression: compression['AB'.indexOf(side.name)] }, waves: [['r1']], bakeMs: 0, minSamples: 1, stageParallelism: parallelism['AB'.indexOf(side.name)],
  regions: [{ name: 'r1', traffic: 100, maxUnavailable: agents.length,
    targets: agents.map((a, i) => ({ name: `t${i + 1}`, region: 'r1', agentUrl: `http://127.0.0.1:${a.port}`, token: TOKEN, env: {} })) }],
});

const cold = process.env.SLIPWAY_AB_COLD === '1';
/** A cold deploy's slipway.yml: envOf's environment as a user writes it. */
const ymlOf = (agents, side) => {
  const e = envOf(agents, side);
  return [
    'version: 1',
    'environments:',
    '  ab:',
    `    artifact: ${JSON.stringify(src)}`,
    `    token: { file: ${JSON.stringify(path.join(work, 'token'))} }`,
    '    keepReleases: 2',
    `    relay: ${e.relay}`,
    `    origin: { listen: "127.0.0.1:0", compression: ${JSON.stringify(e.origin.compression)} }`,
    `    strategy: { waves: [[r1]], maxUnavailable: ${agents.length}, bake: 0, minSamples: 1, stageParallelism: ${e.stageParallelism} }`,
    '    regions:',
    '      r1:',
    '        traffic: 100',
    '        targets:',
    ...agents.flatMap((a, i) => [`          - name: t${i + 1}`, `            agent: http://127.0.0.1:${a.port}`]),
    '',
  ].join('\n');
};

let serial = Date.now() % 100_000;
async function deploy(side, k) {
  const agents = [];
  for (let i = 0; i < N; i++) {
    const dir = path.join(work, `${side.name}${i}`);
    discard(dir);
    agents.push(await startAgent(side.root, dir));
  }
  const checkout = path.join(work, `cold-${side.name}`);
  const ledger = cold ? path.join(checkout, '.slipway', 'deploy-ledger') : path.join(work, `ledger-${side.name}`);
  discard(ledger);
  // Cold: the checkout names these agents, its file aged past the racy window (state/racy.ts).
  if (cold && (await writeCheckout(checkout, ymlOf(agents, side)))) await settle();
  await new Promise((r) => setTimeout(r, 300)); // the agents' start-up CPU settled
  if (proxied && !originProxy) {
    const target = await freePort();
    originProxy = Object.assign(await countingProxy(target), { target });
  }
  originProxy?.reset();
  spawnSync('sync');
  const version = `v${serial++}`;
  // SLIPWAY_AB_PERF=PREFIX: `perf record -a -g` over the deploy alone, into PREFIX.<side><pair>.
  const perf = process.env.SLIPWAY_AB_PERF
    ? spawn('perf', ['record', '-a', '-g', '-q', '-o', `${process.env.SLIPWAY_AB_PERF}.${side.name}${k}`], { stdio: 'ignore' })
    : undefined;
  if (perf) await new Promise((r) => setTimeout(r, 500));
  const a0 = agents.map((a) => agentCpu(a.proc.pid));
  const d0 = cpu(process.pid, true);
  const t0 = performance.now();
  const arg = JSON.stringify({ env: envOf(agents, side), version, ledgerDir: ledger });
  const r = cold
    ? await runCold(side.root, checkout, ymlOf(agents, side), version, path.join(work, `v8-${side.name}`))
    : await runDriver(side.root, arg, (p) => {
        if (perf) writeFileSync(`${process.env.SLIPWAY_AB_PERF}.${side.name}${k}.pids`, [p.pid, ...agents.map((a) => a.proc.pid)].join(','));
      });
  const ms = performance.now() - t0;
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('close', r));
  }
  const d1 = cpu(process.pid, true);
  const a1 = agents.map((a) => agentCpu(a.proc.pid));
  if (process.env.SLIPWAY_AB_DEPLOYER_STDERR === '1') process.stderr.write(`--- ${side.name} pair ${k}\n${r.errs}`);
  const o = JSON.parse(r.out.trim().split('\n').pop() || '{}');
  if (!o.ok) throw new Error(`${side.name}: deploy failed: ${o.reason ?? r.errs.slice(-800)}`);
  const dep = [d1[0] - d0[0], d1[1] - d0[1]];
  const ag = a1.map((x, i) => [x[0] - a0[i][0], x[1] - a0[i][1]]);
  await Promise.all(agents.map(stopAgent));
  for (const a of agents) {
    const d = spawnSync('diff', ['-r', '--no-dereference', src, `${path.join(a.dir, 'releases', o.release)}/`]);
    if (d.status !== 0) throw new Error(`${side.name}: release ${o.release} on ${a.dir} differs from its source`);
  }
  const agUser = ag.reduce((s, x) => s + x[0], 0);
  const agAll = ag.reduce((s, x) => s + x[0] + x[1], 0);
  return {
    ms,
    user: dep[0] + agUser,
    cpu: dep[0] + dep[1] + agAll,
    dep: dep[0] + dep[1],
    depUser: dep[0],
    agentsUser: agUser,
    agents: agAll,
    agentMax: Math.max(...ag.map((x) => x[0] + x[1])),
    bytes: originProxy ? originProxy.bytes : o.bytesSent,
    rss: o.maxRssKb / 1024,
  };
}

/** Six parallel `rsync -z` into fresh folders of a loopback daemon, for reference. */
let rsyncd;
async function rsyncFan(k) {
  const root = path.join(work, 'rsync');
  if (!rsyncd) {
    const mods = Array.from({ length: N }, (_, i) => `fan${i}`);
    const conf = ['use chroot = no', 'munge symlinks = no', `uid = ${os.userInfo().uid}`, `gid = ${os.userInfo().gid}`,
      ...mods.flatMap((m) => { mkdirSync(path.join(root, m), { recursive: true }); return [`[${m}]`, `path = ${path.join(root, m)}`, 'read only = no']; })];
    writeFileSync(path.join(work, 'rsyncd.conf'), `${conf.join('\n')}\n`);
    const port = 20000 + (process.pid % 20000);
    rsyncd = { port, proxy: proxied ? await countingProxy(port, 'rsync') : undefined, proc: spawn('rsync', ['--daemon', '--no-detach', `--config=${path.join(work, 'rsyncd.conf')}`, '--address=127.0.0.1', `--port=${port}`, '--log-file=/dev/null'], { stdio: 'ignore' }) };
    await new Promise((r) => setTimeout(r, 500));
  }
  spawnSync('sync');
  const c0 = cpu(process.pid, true);
  const d0 = cpu(rsyncd.proc.pid, true);
  const t0 = performance.now();
  const codes = await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
    spawn('rsync', ['-a', '-z', `${src}/`, `rsync://127.0.0.1:${rsyncd.proxy?.port ?? rsyncd.port}/fan${i}/v${k}/`], { stdio: 'ignore' }).on('close', resolve);
  })));
  const ms = performance.now() - t0;
  if (codes.some((c) => c !== 0)) throw new Error(`rsync failed: ${codes}`);
  await new Promise((r) => setTimeout(r, 200)); // the daemon reaps its per-connection processes
  const c1 = cpu(process.pid, true);
  const d1 = cpu(rsyncd.proc.pid, true);
  for (let i = 0; i < N; i++) discard(path.join(root, `fan${i}`, `v${k}`));
  return { ms, cpu: c1[0] + c1[1] - c0[0] - c0[1] + d1[0] + d1[1] - d0[0] - d0[1] };
}

const median = (xs) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const show = (s, g) =>
  `${s.name} ${g.ms.toFixed(0)} ms, cpu ${g.cpu.toFixed(0)} (user ${g.user.toFixed(0)}; deployer ${g.dep.toFixed(0)} user ${g.depUser.toFixed(0)}, agents ${g.agents.toFixed(0)} user ${g.agentsUser.toFixed(0)}, max ${g.agentMax.toFixed(0)}), ${(g.bytes / 2 ** 20).toFixed(1)} MiB, rss ${g.rss.toFixed(0)} MB`;

const sides = roots.map((root, i) => ({ name: 'AB'[i], root }));
const got = [[], []];
const ratios = { ms: [], cpu: [], user: [] };
try {
  for (let k = 0; k < Number(pairsArg); k++) {
    const pair = [];
    for (const i of k % 2 ? [1, 0] : [0, 1]) pair[i] = await deploy(sides[i], k);
    pair.forEach((g, i) => got[i].push(g));
    for (const key of Object.keys(ratios)) ratios[key].push(pair[1][key] / pair[0][key]);
    console.log(`pair ${k}: ${pair.map((g, i) => show(sides[i], g)).join(' | ')}; load ${load()}`);
    if (process.env.SLIPWAY_AB_RSYNC === '1') {
      const z = await rsyncFan(k);
      console.log(`  ${N} x rsync -z ${z.ms.toFixed(0)} ms, cpu ${z.cpu.toFixed(0)}; A/z ${(pair[0].ms / z.ms).toFixed(2)}, B/z ${(pair[1].ms / z.ms).toFixed(2)}`);
    }
  }
  const sum = (i) =>
    `${sides[i].name} median ${median(got[i].map((g) => g.ms)).toFixed(0)} ms, cpu ${median(got[i].map((g) => g.cpu)).toFixed(0)} (user ${median(got[i].map((g) => g.user)).toFixed(0)}, deployer ${median(got[i].map((g) => g.dep)).toFixed(0)}, agents ${median(got[i].map((g) => g.agents)).toFixed(0)})`;
  console.log(`== fan-out first x${N}: ${sum(0)} | ${sum(1)}`);
  console.log(`== B/A medians of pairs: wall ${median(ratios.ms).toFixed(3)}, cpu ${median(ratios.cpu).toFixed(3)}, user ${median(ratios.user).toFixed(3)}`);
} finally {
  rsyncd?.proc.kill('SIGTERM');
  await rsyncd?.proxy?.close();
  await originProxy?.close();
  // SLIPWAY_AB_KEEP=1 leaves what the deploys wrote (in SLIPWAY_AB_DIR/discarded) for a later
  // removal: removing it between runs made the next run's file creations slow (ext4 here,
  // find_inode_bit), up to 20% of the agents' CPU in openat.
  if (process.env.SLIPWAY_AB_KEEP !== '1') rmSync(discarded, { recursive: true, force: true });
}
