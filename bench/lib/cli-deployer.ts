/**
 * Slipway's deployer for the deploy-vs-rsync bench, run as a user runs it: `slipway deploy bench`
 * (bin/slipway.js executed as a shell runs it: the native client, then the checkout's daemon
 * when one serves the command, else Node.js) in a checkout (the bench's folder) whose
 * slipway.yml names the targets. With the daemon (`viaDaemon`), it is started first, as the
 * first `run`, `plan` or `deploy` in a checkout starts it, and each deploy waits before and after
 * until the daemon's next spare is loaded, so that loading (in the background, as between a
 * person's commands) lands on no tool's time. Without it every deploy starts Node.js and loads
 * the CLI, as under CI.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { askDaemon, stopDaemon } from '../../src/daemon/control.js';
import { type Timed, tail, timed } from './spawn.js';

/**
 * Preloaded into the deploying process (NODE_OPTIONS=--require): at exit it writes its CPU and
 * peak RSS (VmHWM, its own address space's) to SLIPWAY_BENCH_STATS_FILE. In a daemon's spare,
 * CPU counts from when the spare takes its command (its IPC channel to the daemon closes then,
 * cli/spare.ts), not its loading beforehand; its peak RSS includes that loading. The daemon
 * itself writes nothing.
 */
const STATS_PRELOAD = `const fs = require('node:fs');
let base = 0;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
process.on('disconnect', () => { base = cpu(); });
process.on('exit', () => {
  const file = process.env.SLIPWAY_BENCH_STATS_FILE;
  if (!file || (process.argv[1] || '').endsWith('daemon-server.js')) return;
  let peakKb = 0;
  try { peakKb = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]); } catch {}
  // Whole or not at all: the bench reads it as soon as it appears.
  fs.writeFileSync(file + '.tmp', JSON.stringify({ cpuMs: cpu() - base, peakKb }));
  fs.renameSync(file + '.tmp', file);
});
`;

/** Where the deployer serves chunks: the port it listens on and the URL agents reach it by. */
export interface Origin {
  port: number;
  url: string;
}

/** One deploy: the CLI's run, its summary's release and chunking time, the process's own figures. */
export interface CliDeploy {
  t: Timed;
  release: string;
  chunkMs: number;
  stats?: { cpuMs: number; peakKb: number };
}

export class CliDeployer {
  readonly #env: NodeJS.ProcessEnv;
  #yml = '';

  private constructor(
    readonly root: string,
    readonly bin: string,
    readonly viaDaemon: boolean,
    readonly origin: Origin,
    readonly log: (line: string) => void,
  ) {
    const preload = join(root, 'deploy-stats.cjs');
    writeFileSync(preload, STATS_PRELOAD);
    this.#env = {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
      SLIPWAY_DAEMON: viaDaemon ? '1' : '0',
    };
  }

  /** A deployer in the checkout `root` with its token in `root/token`; the daemon started when `viaDaemon`. */
  static async start(o: {
    root: string;
    bin: string;
    viaDaemon: boolean;
    origin: Origin;
    log: (line: string) => void;
  }): Promise<CliDeployer> {
    const d = new CliDeployer(o.root, o.bin, o.viaDaemon, o.origin, o.log);
    d.#write(d.#ymlFor(join(o.root, 'src'), []));
    if (o.viaDaemon) {
      const started = await timed(o.bin, ['daemon', 'start'], { cwd: o.root, env: d.#envFor('stats-start') });
      if (started.code !== 0)
        o.log(`bench: the daemon did not start; deploys run without it: ${tail(started, 3)}`);
    }
    return d;
  }

  /** Deploys `artifact` as `version` to the agents at `agentUrls`; throws when it fails. */
  async deploy(artifact: string, agentUrls: string[], version: string): Promise<CliDeploy> {
    // Rewritten only when it changes (a new agent, another shape), as a user edits it: a changed
    // file is parsed again (the pipeline's snapshot is keyed by its stat, config/snapshot.ts).
    this.#write(this.#ymlFor(artifact, agentUrls));
    await this.spareReady();
    // Versions repeat across shapes: what an earlier deploy left under these names goes first,
    // so that nothing of it is read as this deploy's.
    const statsFile = join(this.root, `stats-${version}.json`);
    const summaryFile = join(this.root, `summary-${version}.json`);
    for (const f of [statsFile, summaryFile]) rmSync(f, { force: true });
    const t = await timed(this.bin, ['deploy', 'bench', '--version', version, '--summary', summaryFile], {
      cwd: this.root,
      env: this.#envFor(`stats-${version}`),
    });
    // SLIPWAY_TRACE=1: each deploy's spans (util/trace.ts), after it.
    if (process.env.SLIPWAY_TRACE) this.log(t.stderr.trimEnd());
    const summary = existsSync(summaryFile)
      ? (JSON.parse(readFileSync(summaryFile, 'utf8')) as {
          release?: string;
          status?: string;
          reason?: string;
          artifact: { chunkMs: number };
        })
      : undefined;
    if (t.code !== 0 || summary?.status !== 'success' || !summary.release)
      throw new Error(`slipway deploy ${version} failed (exit ${t.code}): ${summary?.reason ?? tail(t)}`);
    // The stats file is written as the deploying process exits, which may be just after the
    // client has its exit code (the daemon's spare answers first).
    let stats: CliDeploy['stats'];
    for (const deadline = Date.now() + 30_000; !stats && Date.now() < deadline; ) {
      if (existsSync(statsFile)) stats = JSON.parse(readFileSync(statsFile, 'utf8'));
      else await new Promise((r) => setTimeout(r, 10));
    }
    return { t, release: summary.release, chunkMs: summary.artifact.chunkMs, stats };
  }

  /** The daemon has a spare loaded for the next command (or there is none to wait for). */
  async spareReady(): Promise<void> {
    if (!this.viaDaemon) return;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const status = await askDaemon(this.root, 'status');
      if (!status || status.ready > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(): Promise<void> {
    if (this.viaDaemon) await stopDaemon(this.root);
  }

  #envFor(statsName: string): NodeJS.ProcessEnv {
    return { ...this.#env, SLIPWAY_BENCH_STATS_FILE: join(this.root, `${statsName}.json`) };
  }

  #write(yml: string): void {
    if (yml === this.#yml) return;
    writeFileSync(join(this.root, 'slipway.yml'), yml);
    this.#yml = yml;
  }

  #ymlFor(artifact: string, agentUrls: string[]): string {
    return [
      'version: 1',
      'environments:',
      '  bench:',
      `    artifact: ${JSON.stringify(artifact)}`,
      '    token: { file: token }',
      '    keepReleases: 2',
      '    relay: false',
      `    origin: { listen: "127.0.0.1:${this.origin.port}", url: "${this.origin.url}" }`,
      `    strategy: { waves: [[r1]], maxUnavailable: ${Math.max(1, agentUrls.length)}, bake: 0, minSamples: 1, stageParallelism: 8 }`,
      '    regions:',
      '      r1:',
      '        traffic: 100',
      '        targets:',
      ...agentUrls.flatMap((url, i) => [`          - name: t${i + 1}`, `            agent: ${url}`]),
      '',
    ].join('\n');
  }
}
