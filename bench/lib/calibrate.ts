/** Measures what one `npm run build` costs on top of its script, to size graphs and bounds. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timed } from './spawn.js';

/** Median wall time of `npm run build` whose script is `sleep 0`, over `samples` runs. */
export async function npmRunOverheadMs(samples = 3): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-calibrate-'));
  try {
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'calibrate', scripts: { build: 'sleep 0' } }),
    );
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push((await timed('npm', ['run', 'build'], { cwd: dir })).wallMs);
    return median(times);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The middle value (mean of the two middle ones for an even count); 0 for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The installed npm's version, for the workspace's packageManager field. */
export async function npmVersion(): Promise<string> {
  const t = await timed('npm', ['--version'], { cwd: tmpdir() });
  return t.stdout.trim() || '10.0.0';
}
