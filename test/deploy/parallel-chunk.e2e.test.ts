/**
 * Parallel chunking with real worker threads: the compiled pool (dist/src) against the sequential
 * pass, a worker that fails to load or dies mid-task (a typed failure, never a wrong list), and
 * `slipway deploy` from bin/slipway.js (the bundled CLI, its worker beside it in dist/cli) of a
 * file just over the threshold, first and after a shifting edit, checked byte-identical.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as PoolModule from '../../src/deploy/cdc-pool.js';
import type * as ChunkFileModule from '../../src/deploy/chunk-file.js';
import type * as FastModule from '../../src/deploy/fast-hash.js';
import type { ChunkingParams } from '../../src/deploy/fastcdc.js';
import type * as LargeChunksModule from '../../src/deploy/large-chunks.js';
import type * as ParallelModule from '../../src/deploy/parallel-chunk.js';
import {
  type AgentProc,
  cli,
  noise,
  startAgentOnFreePorts,
  stopAgent,
  targetLines,
  tmpdir,
  writeArtifact,
} from './rig.js';

const DIST = path.resolve(import.meta.dirname, '../../dist/src/deploy');
const { CdcPool } = (await import(path.join(DIST, 'cdc-pool.js'))) as typeof PoolModule;
const { chunkParallel, segmentStarts, thisThread } = (await import(
  path.join(DIST, 'parallel-chunk.js')
)) as typeof ParallelModule;
const { PARALLEL_MIN } = (await import(path.join(DIST, 'large-chunks.js'))) as typeof LargeChunksModule;
const { chunkFile } = (await import(path.join(DIST, 'chunk-file.js'))) as typeof ChunkFileModule;
const { fastHasher, joinFast, newFastSeed } = (await import(
  path.join(DIST, 'fast-hash.js')
)) as typeof FastModule;

const P: ChunkingParams = { min: 256, avg: 1024, max: 4096 };
const TOKEN = 'e2e-pchunk-token-0123456789abcdef';

/** A slipway.yml deploying `dist` to `agents` in one region (the bundled CLI's e2e). */
function prodYml(agents: Parameters<typeof targetLines>[0]): string {
  const yml = [
    'version: 1',
    'environments:',
    '  prod:',
    '    artifact: dist',
    '    start: node server.mjs',
    '    token: { file: agent.token }',
    '    health: { path: /health, interval: 150ms, timeout: 1s, successes: 1, failures: 1, errors: 200, deadline: 30s }',
    '    strategy: { maxUnavailable: 1, bake: 100ms, minSamples: 1 }',
    '    regions:',
    '      eu:',
    '        traffic: 100',
    '        targets:',
    ...targetLines(agents),
  ];
  return `${yml.join('\n')}\n`;
}
let root: string;

beforeAll(async () => {
  root = await tmpdir('pchunk-e2e');
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('parallel chunking on worker threads (compiled layout)', () => {
  it('gives the sequential chunks, first and with the old list, every segment on a worker', async () => {
    const file = path.join(root, 'f');
    const data = Buffer.concat([noise(300_000, 1), Buffer.alloc(100_000), noise(200_001, 2)]);
    await writeFile(file, data);
    const seq = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max));
    const pool = CdcPool.create(2);
    expect(pool).toBeDefined();
    try {
      const lanes = [0, 1].map(() => ({ run: pool!.run, ready: pool!.ready() }));
      const starts = segmentStarts(data.length, 70_000);
      const first = await chunkParallel(
        file,
        data.length,
        undefined,
        P,
        lanes,
        starts,
        Buffer.allocUnsafe(4 * P.max),
      );
      expect(first.ok && first.value.chunks).toEqual(seq.chunks);
      const shifted = Buffer.concat([noise(4096, 3), data]);
      await writeFile(file, shifted);
      const want = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max));
      const again = await chunkParallel(
        file,
        shifted.length,
        seq.chunks,
        P,
        lanes,
        segmentStarts(shifted.length, 50_000),
        Buffer.allocUnsafe(4 * P.max),
      );
      expect(again.ok && again.value.chunks).toEqual(want.chunks);
    } finally {
      await pool!.close();
    }
  });

  it('gives the sequential chunks and fast hashes on workers, confirming by the old fast hashes', async () => {
    const file = path.join(root, 'g');
    const data = noise(500_000, 4);
    await writeFile(file, data);
    const hasher = fastHasher(newFastSeed())!;
    const first = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max), hasher);
    const edited = Buffer.from(data);
    noise(300, 5).copy(edited, 250_000);
    await writeFile(file, edited);
    const want = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max), hasher);
    const pool = CdcPool.create(2);
    try {
      const lanes = [0, 1].map(() => ({ run: pool!.run, ready: pool!.ready() }));
      const r = await chunkParallel(
        file,
        edited.length,
        first.chunks,
        P,
        lanes,
        segmentStarts(edited.length, 60_000),
        Buffer.allocUnsafe(4 * P.max),
        { hasher, old: joinFast(first.fast!) },
      );
      expect(r.ok && r.value.chunks).toEqual(want.chunks);
      expect(r.ok && r.value.fast).toEqual(want.fast);
      expect(r.ok && r.value.byLane.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    } finally {
      await pool!.close();
    }
  });

  it('runs the bundled worker scripts beside the CLI and the bench deployer (worker-only lanes)', async () => {
    const file = path.join(root, 'h');
    const data = noise(300_000, 9);
    await writeFile(file, data);
    const seq = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max));
    for (const script of ['dist/cli/cdc-worker.js', 'dist/bench/cdc-worker.js']) {
      const pool = CdcPool.create(1, pathToFileURL(path.resolve(import.meta.dirname, '../..', script)));
      expect(pool, script).toBeDefined();
      try {
        const lanes = [{ run: pool!.run, ready: pool!.ready() }];
        const starts = segmentStarts(data.length, 60_000);
        const r = await chunkParallel(
          file,
          data.length,
          undefined,
          P,
          lanes,
          starts,
          Buffer.allocUnsafe(4 * P.max),
        );
        expect(r.ok && r.value.chunks, script).toEqual(seq.chunks);
      } finally {
        await pool!.close();
      }
    }
  });

  it('fails typed when a worker cannot load or dies mid-task; this thread then takes its segments', async () => {
    const file = path.join(root, 'g');
    const data = noise(200_000, 4);
    await writeFile(file, data);
    const seq = await chunkFile(file, P, Buffer.allocUnsafe(4 * P.max));
    const broken = path.join(root, 'broken-worker.mjs');
    await writeFile(broken, "throw new Error('cannot load');\n");
    const dying = path.join(root, 'dying-worker.mjs');
    await writeFile(
      dying,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\nparentPort.postMessage({ ready: true });\n",
    );
    for (const script of [broken, dying]) {
      const pool = CdcPool.create(1, pathToFileURL(script))!;
      try {
        const workerOnly = [{ run: pool.run, ready: pool.ready() }];
        const starts = segmentStarts(data.length, 50_000);
        const alone = await chunkParallel(
          file,
          data.length,
          undefined,
          P,
          workerOnly,
          starts,
          Buffer.allocUnsafe(4 * P.max),
        );
        expect(alone.ok, script).toBe(false);
        expect(pool.failed, script).toBeDefined();
        const withThis = [thisThread(Buffer.allocUnsafe(4 * P.max)), ...workerOnly];
        const r = await chunkParallel(
          file,
          data.length,
          undefined,
          P,
          withThis,
          starts,
          Buffer.allocUnsafe(4 * P.max),
        );
        expect(r.ok && r.value.chunks, script).toEqual(seq.chunks);
      } finally {
        await pool.close();
      }
    }
  });
});

describe('slipway deploy of a file chunked in segments (bundled CLI)', { timeout: 240_000 }, () => {
  let agent: AgentProc | undefined;
  afterAll(async () => {
    if (agent) await stopAgent(agent);
  });

  it('streams a first release of a large file in parts to a fresh agent, byte-identical', async () => {
    const dir = path.join(root, 'fresh');
    await mkdir(dir, { recursive: true });
    const tokenFile = path.join(dir, 'agent.token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    const fresh = await startAgentOnFreePorts(
      { name: 'eu-2', region: 'eu', dir: path.join(dir, 'eu-2') },
      tokenFile,
    );
    try {
      await writeFile(path.join(dir, 'slipway.yml'), prodYml([fresh]));
      const artifact = path.join(dir, 'dist');
      await writeArtifact(artifact, { version: 'v1', files: 0 });
      await writeFile(path.join(artifact, 'big.bin'), noise(PARALLEL_MIN + 4096, 9));
      const r = await cli(['deploy', 'prod', '--version', 'v1'], dir, { SLIPWAY_TRACE: '1' });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // Streamed (the agent has no release), in parts (it announces them); chunked on this
      // thread for it, unless the twin check's answer came too late for the walk to wait.
      expect(r.stderr).toMatch(/stage-stream to eu-2: \d+ entries chunked, in parts/);
      expect(r.stderr).toMatch(/a host is streamed its parts|load average|in \d+ segments/);
      const diff = spawnSync(
        'diff',
        ['-r', '--no-dereference', artifact, `${path.join(fresh.dir, 'current')}/`],
        {
          encoding: 'utf8',
        },
      );
      expect(diff.status, `${diff.stdout}${diff.stderr}`).toBe(0);
    } finally {
      await stopAgent(fresh);
    }
  });

  it('deploys a file just over the threshold in segments, then after a shifting edit, byte-identical', async () => {
    const tokenFile = path.join(root, 'agent.token');
    await writeFile(tokenFile, `${TOKEN}\n`);
    agent = await startAgentOnFreePorts(
      { name: 'eu-1', region: 'eu', dir: path.join(root, 'eu-1') },
      tokenFile,
    );
    const artifact = path.join(root, 'dist');
    await writeFile(path.join(root, 'slipway.yml'), prodYml([agent]));
    const big = Buffer.concat([
      noise(PARALLEL_MIN / 2, 5),
      Buffer.alloc(1 << 20),
      noise(PARALLEL_MIN / 2, 6),
    ]);
    // A release without the file first: to an agent without one, a large file goes in parts,
    // chunked on this thread (stage-stream.ts); to one with a release it is chunked in segments.
    for (const [version, data] of [
      ['v0', undefined],
      ['v1', big],
      [
        'v2',
        Buffer.concat([
          noise(4096, 7),
          big.subarray(0, 10_000_000),
          noise(300_000, 8),
          big.subarray(10_300_000),
        ]),
      ],
    ] as const) {
      await writeArtifact(artifact, { version, files: 0 });
      if (data) await writeFile(path.join(artifact, 'big.bin'), data);
      else await rm(path.join(artifact, 'big.bin'), { force: true });
      const r = await cli(['deploy', 'prod', '--version', version], root, { SLIPWAY_TRACE: '1' });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      // One core: no workers, and the file is chunked on the deployer's thread alone; nor on a
      // machine so loaded that a worker would find no core (artifact.ts coresToSpare), which
      // says so. Chunked again from its old list (v2), it is under the threshold for that
      // (PARALLEL_RECHUNK_MIN).
      if (os.availableParallelism() > 1 && version === 'v1')
        expect(r.stderr, version).toMatch(
          /chunked big\.bin in \d+ segments|chunking on this thread alone: load average/,
        );
      else if (version !== 'v0') expect(r.stderr, version).not.toMatch(/in \d+ segments/);
      expect(r.stderr, version).not.toMatch(/in segments failed/);
      const diff = spawnSync(
        'diff',
        ['-r', '--no-dereference', artifact, `${path.join(agent.dir, 'current')}/`],
        {
          encoding: 'utf8',
        },
      );
      expect(diff.status, `${diff.stdout}${diff.stderr}`).toBe(0);
    }
  });
});
