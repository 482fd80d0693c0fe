/**
 * What durable releases cost: assembling a release (files from chunks, then the rename into
 * place) made durable two ways, fsync of every written file (16 at once) and folder, or one
 * whole-filesystem flush (`sync -f`) then the folders, against the same assembly without any
 * flush. Two shapes: few large files and many small ones (where per-file fsync costs most).
 * Rounds rotate the modes so a load change on a shared machine hits all; medians are compared.
 * Run alone: `node dist/bench/release-fsync.js [--quick]`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { assembleRelease } from '../src/deploy/agent/assembly.js';
import type { Durability } from '../src/deploy/agent/durability.js';
import { Layout } from '../src/deploy/agent/layout.js';
import { readArtifact } from '../src/deploy/artifact.js';
import { readChunk } from '../src/deploy/chunk-reads.js';
import type { ChunkId, ReleaseId } from '../src/deploy/types.js';
import { runAlone } from './lib/alone.js';
import { noise } from './lib/noise.js';
import type { BenchOptions, BenchRow } from './lib/row.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const MODES: Exclude<Durability, 'auto'>[] = ['fsync', 'syncfs', 'none'];

/** Median ms of assembling `artifact` as a release, per durability mode. */
async function measure(artifact: string, rounds: number): Promise<Record<(typeof MODES)[number], number>> {
  const art = await readArtifact(artifact, 'fsync-bench');
  if (!art.ok) throw new Error(art.error);
  const { manifest, chunks } = art.value;
  // Chunks from memory: the figure is the cost of writing and syncing, not of reading the source.
  const data = new Map<ChunkId, Buffer>();
  for (const [id, src] of chunks) data.set(id, await readChunk(src));
  const root = mkdtempSync(join(os.tmpdir(), 'slipway-bench-fsync-'));
  const times: Record<(typeof MODES)[number], number[]> = { fsync: [], syncfs: [], none: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const durability of [...MODES.slice(r % 3), ...MODES.slice(0, r % 3)]) {
        const layout = new Layout(join(root, `${r}-${durability}`));
        const t0 = performance.now();
        await assembleRelease({
          layout,
          id: `r${r}-000000000000` as ReleaseId,
          manifest,
          chunk: async (id) => data.get(id)!,
          durability,
        });
        times[durability].push(performance.now() - t0);
        rmSync(layout.root, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { fsync: median(times.fsync), syncfs: median(times.syncfs), none: median(times.none) };
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
        `bench: release assembly ${name}: fsync ${m.fsync.toFixed(0)} ms, sync -f ${m.syncfs.toFixed(0)} ms, none ${m.none.toFixed(0)} ms`,
      );
      rows.push({
        suite: 'deploy',
        case: `stage a release, ${name}`,
        metric: 'fsync / no flush',
        value: m.fsync / m.none,
        unit: 'x',
        note: `${m.fsync.toFixed(0)} vs ${m.none.toFixed(0)} ms (median of ${rounds})`,
      });
      rows.push({
        suite: 'deploy',
        case: `stage a release, ${name}`,
        metric: 'sync -f / fsync',
        value: m.syncfs / m.fsync,
        unit: 'x',
        note: `${m.syncfs.toFixed(0)} vs ${m.fsync.toFixed(0)} ms; sync -f flushes every writer on the filesystem`,
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}

runAlone(import.meta.url, benchReleaseFsync);
