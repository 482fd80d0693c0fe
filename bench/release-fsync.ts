/**
 * What durable releases cost: assembling a release (files from chunks, then the rename into
 * place) with fsync of every file and folder before the rename and of the parent after it,
 * against the same assembly without any fsync. Two shapes: the deploy bench's artifact (few
 * large files) and many small files (where per-file fsync costs most). Rounds alternate the two
 * modes so a load change on a shared machine hits both; the median of each is compared.
 * Run alone: `node dist/bench/release-fsync.js [--quick]`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Layout } from '../src/deploy/agent/layout.js';
import { assembleRelease } from '../src/deploy/agent/releases.js';
import { readArtifact } from '../src/deploy/artifact.js';
import { readChunk } from '../src/deploy/origin.js';
import type { ChunkId, ReleaseId } from '../src/deploy/types.js';
import { runAlone } from './lib/alone.js';
import { noise } from './lib/noise.js';
import type { BenchOptions, BenchRow } from './lib/row.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of assembling `artifact` as a release, durable and not. */
async function measure(artifact: string, rounds: number): Promise<{ durable: number; plain: number }> {
  const art = await readArtifact(artifact, 'fsync-bench');
  if (!art.ok) throw new Error(art.error);
  const { manifest, chunks } = art.value;
  // Chunks from memory: the figure is the cost of writing and syncing, not of reading the source.
  const data = new Map<ChunkId, Buffer>();
  for (const [id, src] of chunks) data.set(id, await readChunk(src));
  const root = mkdtempSync(join(os.tmpdir(), 'slipway-bench-fsync-'));
  const times = { durable: [] as number[], plain: [] as number[] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const durable of r % 2 === 0 ? [true, false] : [false, true]) {
        const layout = new Layout(join(root, `${r}-${durable}`));
        const t0 = performance.now();
        await assembleRelease({
          layout,
          id: `r${r}-000000000000` as ReleaseId,
          manifest,
          chunk: async (id) => data.get(id)!,
          durable,
        });
        (durable ? times.durable : times.plain).push(performance.now() - t0);
        rmSync(layout.root, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { durable: median(times.durable), plain: median(times.plain) };
}

export async function benchReleaseFsync(options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const root = mkdtempSync(join(os.tmpdir(), 'slipway-bench-fsync-art-'));
  try {
    const big = join(root, 'big');
    const mb = options.quick ? 10 : 50;
    mkdirSync(big, { recursive: true });
    for (let i = 0; i < mb; i++) writeFileSync(join(big, `f-${i}.bin`), noise(1024 * 1024, 300 + i));
    const small = join(root, 'small');
    const files = options.quick ? 300 : 2000;
    for (let d = 0; d < 20; d++) mkdirSync(join(small, `d${d}`), { recursive: true });
    for (let i = 0; i < files; i++)
      writeFileSync(join(small, `d${i % 20}`, `s-${i}.js`), noise(4096, 9000 + i));
    const rounds = options.quick ? 3 : 7;
    for (const [name, dir] of [
      [`${mb} files of 1 MiB`, big],
      [`${files} files of 4 KiB in 20 folders`, small],
    ] as const) {
      const m = await measure(dir, rounds);
      options.log(
        `bench: release assembly ${name}: ${m.durable.toFixed(0)} ms with fsync, ${m.plain.toFixed(0)} ms without`,
      );
      rows.push({
        suite: 'deploy',
        case: `stage a release, ${name}`,
        metric: 'fsync / no fsync',
        value: m.durable / m.plain,
        unit: 'x',
        note: `${m.durable.toFixed(0)} vs ${m.plain.toFixed(0)} ms (median of ${rounds})`,
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

runAlone(import.meta.url, benchReleaseFsync);
