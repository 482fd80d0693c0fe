/**
 * Slipway against rsync, side by side in one run. rsync 3 runs as a daemon on loopback and
 * writes each release beside the previous one (`--copy-dest=../vN-1`), as a release-based deploy
 * must; Slipway deploys to an agent process with the CLI a user runs (`slipway deploy`, through
 * the checkout's daemon unless SLIPWAY_BENCH_DAEMON=0; start-up counted for both). Three shapes (a web build, one large file, many small files), five changes
 * each (first deploy, 1% and 10% changed, a 4 KB insertion at the start of the largest file,
 * nothing changed), then a fan-out to six agents against six parallel `rsync -z`. Every deploy
 * is checked byte-identical with `diff -r --no-dereference`. Every timed deploy starts after a
 * `sync`, with nothing of the one before left to write back. Bytes are counted by one TCP proxy
 * per peer, both directions, the same way for both tools. Slipway and rsync alternate who goes
 * first, so load on the shared machine hits both.
 * Run alone: `node dist/bench/deploy-rsync.js [--quick]`; `SLIPWAY_BENCH_DEPLOY_REPEAT=3` for medians of three runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { deployLedgerDir } from '../src/state/paths.js';
import {
  type BenchAgent as Agent,
  startBenchAgent as startAgent,
  stopBenchAgent as stopAgent,
} from './lib/agent-proc.js';
import { runAlone } from './lib/alone.js';
import { median } from './lib/calibrate.js';
import { CliDeployer } from './lib/cli-deployer.js';
import { countingProxy, freePort } from './lib/count-proxy.js';
import { applyChange, type ChangeName, type ShapeName, writeShape } from './lib/deploy-shapes.js';
import { cpuMs, takePeakKb } from './lib/proc-stats.js';
import type { BenchOptions, BenchRow } from './lib/row.js';
import { ensureRsync, startRsyncDaemon, which } from './lib/rsync-daemon.js';
import { timed } from './lib/spawn.js';

const MB = 1024 * 1024;
/**
 * SLIPWAY_BENCH_DEPLOY_REPEAT=N runs each shape's sequence of changes N times (a fresh agent,
 * ledger and rsync folder for each first deploy) and reports the median of the runs' ratios:
 * rsync's own time here moves up to 3x between runs minutes apart.
 */
const REPEAT = Math.max(1, Number(process.env.SLIPWAY_BENCH_DEPLOY_REPEAT ?? 1) || 1);

const TOKEN = 'bench-token-0123456789abcdef';

/** Writes every dirty page back (`sync`), so that the next timed deploy does not pay for them. */
function settleWrites(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

function verify(source: string, copy: string, what: string): void {
  const r = spawnSync('diff', ['-r', '--no-dereference', source, copy], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${what} is not byte-identical to its source:\n${(r.stdout + r.stderr).slice(0, 800)}`);
}

/** One repetition of a change: Slipway, `rsync -z`, plain rsync. */
type Run = [Outcome, Outcome, Outcome];

interface Outcome {
  ms: number;
  bytes: number;
  /** Peak RSS in KiB of the deployer and of the busiest agent (Slipway only). */
  deployerKb?: number;
  /** CPU of every process involved: deployer and agents, or rsync client and daemon. */
  cpuMs: number;
  agentKb?: number;
  chunkMs?: number;
}

export async function benchDeployRsync(options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const row = (r: Omit<BenchRow, 'suite'>) => rows.push({ suite: 'deploy', ...r });
  const rsync = ensureRsync(options.log);
  if (!rsync) {
    row({ case: 'vs rsync', metric: 'skipped', value: Number.NaN, note: 'rsync missing and apt-get failed' });
    return rows;
  }
  const casync = which('casync');
  const scale = options.quick ? 0.1 : 1;
  const changes: ChangeName[] = options.quick
    ? ['first', '1%', 'nothing']
    : ['first', '1%', '10%', '4 KB shift', 'nothing'];
  const root = mkdtempSync(join(os.tmpdir(), 'slipway-bench-rsync-'));
  // Nothing is removed until the bench ends: folders it is done with are moved aside. ext4 here
  // skips inodes deleted a short while ago when it allocates one, scanning past each (perf:
  // ext4_create -> find_inode_bit -> recently_deleted, most of rsync's CPU), so removing an old
  // release of 20,000 files just before the next deploy slowed every file that deploy created:
  // rsync's time grew 3-5x within a run (it creates every file of a release anew with
  // --copy-dest; Slipway links or shares unchanged ones).
  let discarded = 0;
  const discard = (dir: string) => {
    if (!existsSync(dir)) return;
    mkdirSync(join(root, 'discarded'), { recursive: true });
    renameSync(dir, join(root, 'discarded', String(discarded++)));
  };
  const bin = join(options.root, 'bin', 'slipway.js');
  const tokenFile = join(root, 'token');
  writeFileSync(tokenFile, TOKEN);

  // One rsync daemon, one module per destination; its port goes through a counting proxy.
  const modules = ['plain', 'z', ...Array.from({ length: 6 }, (_, i) => `fan${i + 1}`)];
  const { proc: daemon, port: rsyncPort } = await startRsyncDaemon(rsync, root, modules);
  const rsyncProxy = await countingProxy(rsyncPort, 'rsync');
  const originPort = await freePort();
  const originProxy = await countingProxy(originPort);
  const agents: Agent[] = [];

  // SLIPWAY_BENCH_DAEMON=0: every deploy without the checkout's daemon (bench/lib/cli-deployer.ts).
  const deployer = await CliDeployer.start({
    root,
    bin,
    viaDaemon: process.env.SLIPWAY_BENCH_DAEMON !== '0',
    origin: { port: originPort, url: originProxy.url },
    log: options.log,
  });
  const ledgerDir = deployLedgerDir(root);

  async function slipway(artifact: string, targets: Agent[], version: string): Promise<Outcome> {
    originProxy.reset();
    for (const a of targets) {
      a.proxy.reset();
      takePeakKb(a.proc.pid);
    }
    const agentCpu0 = targets.reduce((n, a) => n + cpuMs(a.proc.pid), 0);
    const d = await deployer.deploy(
      artifact,
      targets.map((a) => a.proxy.url),
      version,
    );
    const agentCpu = targets.reduce((n, a) => n + cpuMs(a.proc.pid), 0) - agentCpu0;
    // The trailing slash: the release's tree as `current` shows it (an unchanged redeploy is a
    // symlink to the kept release's folder it shares, agent/twins.ts).
    for (const a of targets) verify(artifact, `${join(a.dir, 'releases', d.release)}/`, `slipway ${version}`);
    // The daemon's next spare loads now, in the background: not on rsync's time either.
    await deployer.spareReady();
    return {
      ms: d.t.wallMs,
      cpuMs: (d.stats?.cpuMs ?? Number.NaN) + agentCpu,
      bytes: originProxy.bytes + targets.reduce((s, a) => s + a.proxy.bytes, 0),
      deployerKb: d.stats?.peakKb ?? 0,
      agentKb: Math.max(...targets.map((a) => takePeakKb(a.proc.pid))),
      chunkMs: d.chunkMs,
    };
  }

  /** `rsync -a [-z]` of `artifact` into `<module>/<dir>/v<n>`, beside v<n-1>; all modules at once. */
  async function rsyncTo(
    artifact: string,
    mods: string[],
    dir: string,
    n: number,
    z: boolean,
    first = n === 1,
  ) {
    rsyncProxy.reset();
    const client0 = cpuMs(process.pid, true);
    const daemon0 = cpuMs(daemon.pid, true);
    const t0 = performance.now();
    const runs = await Promise.all(
      mods.map((m) => {
        mkdirSync(join(root, 'rsync', m, dir), { recursive: true });
        return timed(
          rsync!,
          [
            '-a',
            ...(z ? ['-z'] : []),
            ...(first ? [] : [`--copy-dest=../v${n - 1}`]),
            `${artifact}/`,
            `rsync://127.0.0.1:${rsyncProxy.port}/${m}/${dir}/v${n}/`,
          ],
          { cwd: root },
        );
      }),
    );
    const ms = performance.now() - t0;
    const client = cpuMs(process.pid, true) - client0;
    for (const r of runs) if (r.code !== 0) throw new Error(`rsync failed: ${r.stderr.slice(-800)}`);
    for (const m of mods) {
      verify(artifact, join(root, 'rsync', m, dir, `v${n}`), `rsync v${n}`);
      // Keep the new release and the one before, as the agent keeps two.
      if (n > 2) discard(join(root, 'rsync', m, dir, `v${n - 2}`));
    }
    // Read after the checks above (whose `diff` runs are the bench's own, not counted), so the
    // daemon has reaped its per-connection processes.
    return { ms, bytes: rsyncProxy.bytes, cpuMs: client + cpuMs(daemon.pid, true) - daemon0 };
  }

  const f = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
  const mib = (b: number) => `${(b / MB).toFixed(b < MB ? 3 : 1)} MiB`;
  try {
    // SLIPWAY_BENCH_SHAPES=big,small re-measures some shapes only (fan-out runs with web).
    const only = process.env.SLIPWAY_BENCH_SHAPES?.split(',');
    // SLIPWAY_BENCH_FAN_ONLY=N: the fan-out's first deploy alone, N times (fresh agents, ledger
    // and rsync folders each time), none of the shapes' single-agent deploys.
    const fanOnly = Number(process.env.SLIPWAY_BENCH_FAN_ONLY ?? 0);
    const shapes = (['web', 'big', 'small'] as ShapeName[]).filter(
      (s) => !fanOnly && (!only || only.includes(s)),
    );
    for (const name of shapes) {
      const src = join(root, 'src', name);
      const shape = writeShape(src, name, scale);
      let agent = await startAgent(bin, join(root, 'agents', name), tokenFile);
      agents.push(agent);
      let peakDeployer = 0;
      let peakAgent = 0;
      // Each change's outcomes, one per repetition: [slipway, rsync -z, rsync].
      const got = new Map<ChangeName, Run[]>();
      let n = 0;
      for (let rep = 0; rep < REPEAT; rep++) {
        for (const [i, change] of changes.entries()) {
          n++;
          if (change === 'first' && rep > 0) {
            // A first deploy again: a fresh agent and ledger, fresh rsync folders.
            await stopAgent(agent);
            agents.splice(agents.indexOf(agent), 1);
            for (const d of [join(root, 'agents', name), ledgerDir]) discard(d);
            for (const m of ['z', 'plain']) discard(join(root, 'rsync', m, name));
            agent = await startAgent(bin, join(root, 'agents', name), tokenFile);
            agents.push(agent);
          }
          applyChange(src, shape, change, rep * 100 + i + 1);
          const v = `v${n}`;
          let s: Outcome | undefined;
          let z: Outcome | undefined;
          let plain: Outcome | undefined;
          // Alternate who goes first: a load change on the shared machine then hits both.
          const order = (n + rep) % 2 === 1 ? ['slipway', 'rsync'] : ['rsync', 'slipway'];
          for (const who of order) {
            // Each tool starts with nothing left to write back: the kernel's writeback of what
            // the one before wrote (rsync does not fsync; the source's edit) otherwise lands on
            // the next one's file creations and renames (rsync's --copy-dest makes 2,000 of each
            // per release of the web build), and moved rsync's time up to 3x within one run.
            settleWrites();
            if (who === 'slipway') {
              // SLIPWAY_BENCH_BYTES_LOG=prefix: each Slipway deploy's bytes per request, one file
              // per shape and change (bench/lib/count-proxy.ts), for a breakdown.
              const log = process.env.SLIPWAY_BENCH_BYTES_LOG;
              if (log)
                process.env.SLIPWAY_BENCH_BYTES_LOG_NOW = `${log}.${name}.${change.replace(/\W/g, '')}`;
              s = await slipway(src, [agent], v);
              delete process.env.SLIPWAY_BENCH_BYTES_LOG_NOW;
            } else {
              const first = change === 'first';
              z = await rsyncTo(src, ['z'], name, n, true, first);
              settleWrites();
              plain = await rsyncTo(src, ['plain'], name, n, false, first);
            }
          }
          if (!s || !z || !plain) throw new Error('unreachable');
          peakDeployer = Math.max(peakDeployer, s.deployerKb ?? 0);
          peakAgent = Math.max(peakAgent, s.agentKb ?? 0);
          options.log(
            `bench: ${shape.label}, ${change}${REPEAT > 1 ? ` (${rep + 1}/${REPEAT})` : ''}: slipway ${f(s.ms)} (cpu ${f(s.cpuMs)}, chunking ${f(s.chunkMs ?? 0)}) ${mib(s.bytes)}; rsync -z ${f(z.ms)} (cpu ${f(z.cpuMs)}) ${mib(z.bytes)}; rsync ${f(plain.ms)} ${mib(plain.bytes)}`,
          );
          got.set(change, [...(got.get(change) ?? []), [s, z, plain]]);
        }
      }
      for (const change of changes) {
        const runs = got.get(change)!;
        // With repetitions: the median of the runs' ratios (each run's two tools measured
        // back to back), every run's ratio in the note.
        const ratio = (num: (r: Run) => number, den: (r: Run) => number) =>
          median(runs.map((r) => num(r) / Math.max(den(r), 1)));
        const each = (num: (r: Run) => number, den: (r: Run) => number) =>
          runs.length > 1
            ? ` (runs: ${runs.map((r) => (num(r) / Math.max(den(r), 1)).toFixed(2)).join(', ')})`
            : '';
        const ms = (k: number) => (r: Run) => r[k]!.ms;
        const cpu = (k: number) => (r: Run) => r[k]!.cpuMs;
        const bytes = (k: number) => (r: Run) => r[k]!.bytes;
        const mid = (pick: (r: Run) => number) => median(runs.map(pick));
        const c = `${shape.label}, ${change === 'first' ? 'first deploy' : change === 'nothing' ? 'nothing changed' : change === '4 KB shift' ? '4 KB inserted at the start' : `${change} changed`}`;
        const timeRatio = ratio(ms(0), ms(1));
        row({
          case: c,
          metric: 'time / rsync -z',
          value: timeRatio,
          unit: 'x',
          target: '<= 1.0',
          pass: options.quick ? undefined : timeRatio <= 1,
          note: `${f(mid(ms(0)))} vs ${f(mid(ms(1)))}; / rsync ${ratio(ms(0), ms(2)).toFixed(2)} (${f(mid(ms(2)))})${each(ms(0), ms(1))}`,
        });
        row({
          case: c,
          metric: 'cpu / rsync -z',
          value: ratio(cpu(0), cpu(1)),
          unit: 'x',
          note: `${f(mid(cpu(0)))} vs ${f(mid(cpu(1)))} of CPU (deployer + agent; client + daemon)${each(cpu(0), cpu(1))}`,
        });
        if (change === 'nothing') {
          const slowest = Math.max(...runs.map((r) => r[0].ms));
          row({
            case: c,
            metric: 'slipway time',
            value: mid(ms(0)),
            unit: 'ms',
            target: '< 0.5 s',
            pass: options.quick ? undefined : mid(ms(0)) < 500,
            note: `chunking ${f(median(runs.map((r) => r[0].chunkMs ?? 0)))}, process start-up included${runs.length > 1 ? `; runs ${runs.map((r) => f(r[0].ms)).join(', ')} (slowest ${f(slowest)})` : ''}`,
          });
        }
        const byteRatio = ratio(bytes(0), bytes(1));
        row({
          case: c,
          metric: 'bytes / rsync -z',
          value: byteRatio,
          unit: 'x',
          target: change === 'first' ? undefined : '<= 1.0',
          pass: change === 'first' || options.quick ? undefined : byteRatio <= 1,
          note: `${mib(mid(bytes(0)))} vs ${mib(mid(bytes(1)))}; rsync ${mib(mid(bytes(2)))}`,
        });
      }
      row({
        case: `${shape.label}, every change`,
        metric: 'peak RSS',
        value: Math.max(peakDeployer, peakAgent) / 1024,
        unit: 'MB',
        target: '< 150',
        pass: options.quick ? undefined : Math.max(peakDeployer, peakAgent) / 1024 < 150,
        note: `deployer ${(peakDeployer / 1024).toFixed(0)} MB, agent ${(peakAgent / 1024).toFixed(0)} MB`,
      });
      await stopAgent(agent);
      agents.splice(agents.indexOf(agent), 1);
      discard(join(root, 'agents', name));
      discard(ledgerDir);
      for (const m of ['z', 'plain']) discard(join(root, 'rsync', m, name));
      if (name !== 'web') discard(src);
    }

    // Fan-out: the web build to six fresh agents against six parallel `rsync -z`.
    if (!fanOnly && !shapes.includes('web')) return rows;
    discard(join(root, 'src', 'web'));
    const fanSrc = join(root, 'src', 'web-fan');
    const shape = writeShape(fanSrc, 'web', scale);
    const fleet: Agent[] = [];
    const fanMods = Array.from({ length: 6 }, (_, i) => `fan${i + 1}`);
    for (let rep = 0; rep < Math.max(1, fanOnly); rep++) {
      if (rep > 0) {
        await Promise.all(fleet.map(stopAgent));
        for (const a of fleet.splice(0)) agents.splice(agents.indexOf(a), 1);
        for (let i = 0; i < 6; i++) discard(join(root, 'agents', `fan${i + 1}`));
        discard(ledgerDir);
        for (const m of fanMods) discard(join(root, 'rsync', m, 'web'));
      }
      for (let i = 0; i < 6; i++)
        fleet.push(await startAgent(bin, join(root, 'agents', `fan${i + 1}`), tokenFile));
      agents.push(...fleet);
      const fanChanges: ChangeName[] = options.quick || fanOnly ? ['first'] : ['first', '1%'];
      for (const [i, change] of fanChanges.entries()) {
        applyChange(fanSrc, shape, change, 50 + i);
        let s: Outcome | undefined;
        let z: { ms: number; bytes: number; cpuMs: number } | undefined;
        for (const who of i % 2 === 0 ? ['slipway', 'rsync'] : ['rsync', 'slipway']) {
          settleWrites();
          if (who === 'slipway') s = await slipway(fanSrc, fleet, `fan${i + 1}`);
          else z = await rsyncTo(fanSrc, fanMods, 'web', i + 1, true);
        }
        if (!s || !z) throw new Error('unreachable');
        const c = `${shape.label} to 6 agents, ${change === 'first' ? 'first deploy' : `${change} changed`}`;
        options.log(
          `bench: ${c}: slipway ${f(s.ms)} (cpu ${f(s.cpuMs)}) ${mib(s.bytes)}; 6 x rsync -z ${f(z.ms)} (cpu ${f(z.cpuMs)}) ${mib(z.bytes)}`,
        );
        row({
          case: c,
          metric: 'time / 6 parallel rsync -z',
          value: s.ms / z.ms,
          unit: 'x',
          target: '<= 1.0',
          pass: options.quick ? undefined : s.ms <= z.ms,
          note: `${f(s.ms)} vs ${f(z.ms)}; peak RSS deployer ${((s.deployerKb ?? 0) / 1024).toFixed(0)} MB, agent ${((s.agentKb ?? 0) / 1024).toFixed(0)} MB`,
        });
        row({
          case: c,
          metric: 'cpu / 6 parallel rsync -z',
          value: s.cpuMs / Math.max(z.cpuMs, 1),
          unit: 'x',
          note: `${f(s.cpuMs)} vs ${f(z.cpuMs)} of CPU`,
        });
        row({
          case: c,
          metric: 'bytes / 6 parallel rsync -z',
          value: s.bytes / z.bytes,
          unit: 'x',
          note: `${mib(s.bytes)} vs ${mib(z.bytes)}`,
        });
      }
    }
    row({
      case: 'casync',
      metric: casync ? 'not compared' : 'not installed',
      value: Number.NaN,
      note: casync ? `${casync} present; this bench compares rsync only` : 'skipped (casync absent)',
    });
  } finally {
    await deployer.stop();
    await Promise.all(agents.map(stopAgent));
    await Promise.all([rsyncProxy.close(), originProxy.close()]);
    daemon.kill('SIGTERM');
    if (process.env.SLIPWAY_BENCH_KEEP !== '1') {
      rmSync(root, { recursive: true, force: true });
      await forgetRemoved(options.log);
    } else options.log(`bench: kept ${root}`);
  }
  return rows;
}

/**
 * After the bench's folders are removed: their inodes flushed, then a wait until ext4 (without
 * a journal) no longer skips them as recently deleted, so that whatever runs next (another
 * bench, a second run of this one) does not pay for this one's removal. ext4 skips an inode
 * deleted less than 60 s ago (RECENTCY_MIN), or 360 s while its inode table block is dirty:
 * hence the sync first. Seen on 7 December: a run started right after another ended spent its
 * 20,000 files' first deploy at 1.23-1.47 of `rsync -z` (1.06-1.12 in a run after a quiet
 * spell), the agent's CPU in ext4_create; in the run after that, `rsync -z` paid instead.
 */
async function forgetRemoved(log: (line: string) => void): Promise<void> {
  if (process.platform !== 'linux') return;
  spawnSync('sync', { stdio: 'ignore' });
  log(`bench: waiting ${FORGET_MS / 1000} s for the removed folders' inodes to be reusable (ext4)`);
  await new Promise((resolve) => setTimeout(resolve, FORGET_MS));
}

/** ext4's RECENTCY_MIN (60 s), and a margin. */
const FORGET_MS = 65_000;

runAlone(import.meta.url, benchDeployRsync);
