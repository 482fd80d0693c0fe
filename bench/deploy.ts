/**
 * Deploy bench: a 50 MB artifact (half text-like, half binary) sent to six agents in three
 * regions, then about 1% of it changed and deployed again. Reports bytes moved and wall time
 * against a full copy (a tar stream over HTTP to each agent, in the same invocation), origin
 * egress with and without relay, and FastCDC throughput including SHA-256.
 * Run alone: `node dist/bench/deploy.js [--quick]`.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { readArtifact } from '../src/deploy/artifact.js';
import { runDeployment } from '../src/deploy/deploy.js';
import type { DeployEvent } from '../src/deploy/events.js';
import { chunkBuffer } from '../src/deploy/fastcdc.js';
import { EventStream } from '../src/events.js';
import { startFleet, startReceivers, tarTo } from './deploy-fleet.js';
import { runAlone } from './lib/alone.js';
import { noise } from './lib/noise.js';
import type { BenchOptions, BenchRow } from './lib/row.js';

const MB = 1024 * 1024;

const WORDS =
  'const let function return import export from await async if else for while class new this value data error result config build deploy render state props module'.split(
    ' ',
  );

/** Text that compresses like minified source (about 3-4x). */
function text(n: number, seed: number): Buffer {
  const r = noise(n / 4 + 16, seed);
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = `${WORDS[r[i % r.length]! % WORDS.length]}${r[(i * 7) % r.length]! % 3 === 0 ? `${r[(i * 13) % r.length]}` : ''}${i % 11 === 0 ? ';\n' : ' '}`;
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function writeArtifact(dir: string, totalMb: number): void {
  mkdirSync(join(dir, 'assets'), { recursive: true });
  for (let i = 0; i < totalMb; i++) {
    const name = i % 2 === 0 ? join(dir, `chunk-${i}.js`) : join(dir, 'assets', `blob-${i}.bin`);
    writeFileSync(name, i % 2 === 0 ? text(MB, 100 + i) : noise(MB, 100 + i));
  }
}

/**
 * Overwrites `bytes` spread over the same four files (two text, two binary) each time, at an
 * offset that depends on `seed`, so successive changes are alike in size and kind.
 */
function mutate(dir: string, totalMb: number, bytes: number, seed: number): void {
  for (let k = 0; k < 4; k++) {
    const i = (k * Math.floor(totalMb / 4) + (k % 2)) % totalMb;
    const name = i % 2 === 0 ? join(dir, `chunk-${i}.js`) : join(dir, 'assets', `blob-${i}.bin`);
    const fd = openSync(name, 'r+');
    const patch = i % 2 === 0 ? text(bytes / 4, seed * 31 + k) : noise(bytes / 4, seed * 31 + k);
    writeSync(fd, patch, 0, patch.length, Math.floor(MB / 5) * seed);
    closeSync(fd);
  }
}

/**
 * Best of three: FastCDC + SHA-256 over a buffer in memory (CPU only) and over the artifact
 * files. In-memory figures are given per wall second and per CPU second of this process: on a
 * shared machine the second one is what the code does, undisturbed by other processes.
 */
async function chunkingThroughput(
  artifact: string,
  totalMb: number,
): Promise<{ memory: number; memoryCpu: number; files: number }> {
  const buf = noise(64 * MB, 5);
  let memory = 0;
  let memoryCpu = 0;
  let files = 0;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    chunkBuffer(buf);
    const cpu = process.cpuUsage(c0);
    memory = Math.max(memory, 64 / ((performance.now() - t0) / 1000));
    memoryCpu = Math.max(memoryCpu, 64 / ((cpu.user + cpu.system) / 1e6));
    const a = await readArtifact(artifact, 'x');
    if (a.ok) files = Math.max(files, totalMb / (a.value.chunkMs / 1000));
  }
  return { memory, memoryCpu, files };
}

export async function benchDeploy(options: BenchOptions): Promise<BenchRow[]> {
  const totalMb = options.quick ? 10 : 50;
  const root = mkdtempSync(join(os.tmpdir(), 'slipway-bench-deploy-'));
  const artifact = join(root, 'artifact');
  const bin = join(options.root, 'bin', 'slipway.js');
  const rows: BenchRow[] = [];
  const row = (r: Omit<BenchRow, 'suite'>) => rows.push({ suite: 'deploy', ...r });
  writeArtifact(artifact, totalMb);
  const fleet = await startFleet({
    root,
    bin,
    dir: join(root, 'agents'),
    artifact,
    regions: 3,
    perRegion: 2,
  });
  const receivers = await startReceivers(join(root, 'baseline'), 6);
  try {
    const deploy = async (version: string, relay: boolean) => {
      const events = new EventStream<DeployEvent>();
      let finished: Extract<DeployEvent, { type: 'deploy-finished' }> | undefined;
      events.subscribe((e) => {
        if (e.type === 'deploy-finished') finished = e;
      });
      const t0 = performance.now();
      const r = await runDeployment({ env: { ...fleet.env, relay }, version, events });
      const wallMs = performance.now() - t0;
      if (!r.ok || r.value.status !== 'success' || !finished)
        throw new Error(`deploy ${version} failed: ${r.ok ? r.value.reason : r.error}`);
      options.log(
        `bench: deploy ${version} (relay ${relay}): ${(wallMs / 1000).toFixed(2)} s, ${(finished.bytesSent / MB).toFixed(2)} MiB sent, origin ${(finished.originEgressBytes / MB).toFixed(2)} MiB`,
      );
      return { wallMs, sent: finished.bytesSent, egress: finished.originEgressBytes };
    };
    const fullCopy = async (gzip: boolean) => {
      const t0 = performance.now();
      const sent = await Promise.all(receivers.urls.map((u) => tarTo(u, artifact, gzip)));
      const wallMs = performance.now() - t0;
      const bytes = sent.reduce((a, b) => a + b, 0);
      options.log(
        `bench: full copy (tar${gzip ? '.gz' : ''}) to 6: ${(wallMs / 1000).toFixed(2)} s, ${(bytes / MB).toFixed(1)} MiB`,
      );
      return { wallMs, bytes };
    };

    const first = await deploy('v1', false);
    const change = Math.round(totalMb * MB * 0.01);
    mutate(artifact, totalMb, change, 1);
    const delta = await deploy('v2', false);
    const tar = await fullCopy(false);
    const tgz = await fullCopy(true);
    mutate(artifact, totalMb, change, 2);
    const relayed = await deploy('v3', true);
    const { memory, memoryCpu, files } = await chunkingThroughput(artifact, totalMb);
    const full = totalMb * MB * 6;

    const c = `${totalMb} MB, 1% changed, 6 agents`;
    row({
      case: c,
      metric: 'bytes moved / full copy',
      value: delta.sent / tar.bytes,
      unit: 'x',
      // Quick mode's 10 MB artifact is a smoke run: chunk granularity dominates, no target.
      target: options.quick ? undefined : '<= 0.05',
      pass: options.quick ? undefined : delta.sent / tar.bytes <= 0.05,
      note: `${(delta.sent / MB).toFixed(2)} MiB vs tar ${(tar.bytes / MB).toFixed(0)} MiB`,
    });
    row({
      case: c,
      metric: 'bytes moved / tar.gz copy',
      value: delta.sent / tgz.bytes,
      unit: 'x',
      note: `tar.gz ${(tgz.bytes / MB).toFixed(0)} MiB`,
    });
    row({
      case: c,
      metric: 'slipway wall',
      value: delta.wallMs,
      unit: 'ms',
      note: 'chunking, staging on 6, activation',
    });
    row({
      case: c,
      metric: 'tar-over-HTTP wall',
      value: tar.wallMs,
      unit: 'ms',
      note: `tar.gz ${Math.round(tgz.wallMs)} ms`,
    });
    row({
      case: c,
      metric: 'wall / full copy',
      value: delta.wallMs / tar.wallMs,
      unit: 'x',
      target: options.quick ? undefined : '< 1',
      pass: options.quick ? undefined : delta.wallMs < tar.wallMs,
    });
    row({
      case: `${totalMb} MB first deploy, 6 agents`,
      metric: 'bytes moved / full copy',
      value: first.sent / full,
      unit: 'x',
      note: `${(first.wallMs / 1000).toFixed(1)} s vs tar ${(tar.wallMs / 1000).toFixed(1)} s, tar.gz ${(tgz.wallMs / 1000).toFixed(1)} s`,
    });
    // Different releases move slightly different bytes, so compare egress per byte delivered.
    const plain = delta.egress / delta.sent;
    const relayShare = relayed.egress / relayed.sent;
    const mib = (n: number) => (n / MB).toFixed(2);
    row({
      case: `${c}, origin egress`,
      metric: 'egress/delivered no relay',
      value: plain,
      unit: 'x',
      note: `${mib(delta.egress)} of ${mib(delta.sent)} MiB`,
    });
    row({
      case: `${c}, origin egress`,
      metric: 'egress/delivered relay',
      value: relayShare,
      unit: 'x',
      note: `${mib(relayed.egress)} of ${mib(relayed.sent)} MiB`,
    });
    row({
      case: `${c}, origin egress`,
      metric: 'relay / no relay',
      value: relayShare / plain,
      unit: 'x',
      target: '<= 0.6',
      pass: relayShare / plain <= 0.6,
      note: '3 regions x 2 agents: ideal 0.5',
    });
    row({
      case: 'FastCDC + SHA-256, in memory',
      metric: 'throughput per CPU-s',
      value: memoryCpu,
      unit: 'MB/s',
      target: '>= 300',
      pass: memoryCpu >= 300,
      note: `wall ${Math.round(memory)} MB/s (load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)`,
    });
    row({
      case: 'FastCDC + SHA-256, artifact files',
      metric: 'throughput',
      value: files,
      unit: 'MB/s',
      note: 'read + chunk + hash',
    });
  } finally {
    await Promise.all([fleet.stop(), receivers.stop()]);
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

// Alone: `node dist/bench/deploy.js [--quick]`.
runAlone(import.meta.url, benchDeploy);
