/**
 * `slipway regressions --input FILE` end to end, and the detector at scale: a 20,000-point series
 * analysed by the built CLI in a node process whose heap is capped at 200 MB and whose peak RSS
 * must stay under 400 MB (the previous re-location step allocated an (n+1)² table: GBs here), plus CSV and JSON-lines files as
 * teams have them, and bad input located by line and column.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shiftedSeries } from '../../src/analyze/random.js';
import { SLIPWAY_BIN, STACK_FRAME, type Workspace, workspace } from '../helpers/cli.js';

interface ScanJson {
  rows: number;
  series: { metric: string; points: number }[];
  findings: {
    metric: string;
    index: number;
    time: string;
    line: number;
    attributes: Record<string, string>;
    direction: string;
    change: number;
    pValue: number;
  }[];
}

let w: Workspace;
beforeAll(() => {
  w = workspace();
});
afterAll(() => w?.cleanup());

/** Runs node with a capped heap on the CLI; resolves with the exit code and output. */
function cappedCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The heap cap does not cover typed arrays (the old table was one), so peak RSS is reported too.
    const report =
      'process.on("exit",()=>process.stderr.write("maxrss="+process.resourceUsage().maxRSS+"\\n"))';
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=200',
        `--import=data:text/javascript,${encodeURIComponent(report)}`,
        SLIPWAY_BIN,
        ...args,
      ],
      {
        cwd: w.dir,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('regressions --input', () => {
  it('analyses a 20,000-point series with the heap capped at 200 MB and finds its steps', async () => {
    const steps = [4000, 9000, 15000];
    const levels = [100, 125, 100, 140];
    const z: number[] = [];
    levels.forEach((base, i) => {
      const from = i === 0 ? 0 : steps[i - 1]!;
      const to = steps[i] ?? 20_000;
      z.push(...shiftedSeries({ seed: 900 + i, length: to - from, noise: 0.05, base }));
    });
    const t0 = Date.UTC(2026, 0, 1);
    const lines = ['time,build_ms'];
    z.forEach((v, i) => {
      lines.push(`${new Date(t0 + i * 60_000).toISOString()},${v.toFixed(3)}`);
    });
    w.write('big.csv', `${lines.join('\n')}\n`);
    const r = await cappedCli(['regressions', '--input', 'big.csv', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rssKb = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1]);
    expect(rssKb).toBeGreaterThan(0);
    // Linear memory: the whole CLI stays far below the 1.2-3.2 GB the quadratic table took.
    expect(rssKb * 1024).toBeLessThan(400e6);
    const scan = JSON.parse(r.stdout) as ScanJson;
    expect(scan.series).toEqual([{ metric: 'build_ms', points: 20_000 }]);
    for (const at of steps)
      expect(
        scan.findings.some((f) => Math.abs(f.index - at) <= 5),
        `step at ${at}`,
      ).toBe(true);
    // Few findings besides the steps (the benchmark measures the rate: under 1 per 1,000 points).
    expect(scan.findings.length).toBeLessThanOrEqual(steps.length + 20);
  });

  it('reads a CSV with a time column, metric columns and attributes, and names the commit', async () => {
    const rows = ['time,commit,latency_ms,throughput'];
    const lat = shiftedSeries({ seed: 5, length: 40, noise: 0.02, base: 200, shift: 0.3, at: 25 });
    const thr = shiftedSeries({ seed: 6, length: 40, noise: 0.02, base: 1000 });
    for (let i = 0; i < 40; i++) {
      // Otava's sample time format: "2026.01.01 3:00:00 +0100".
      const d = new Date(Date.UTC(2026, 0, 1 + i));
      const day = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, '0')}.${String(d.getUTCDate()).padStart(2, '0')}`;
      rows.push(`${day} 3:00:00 +0100,"c${i}",${lat[i]!.toFixed(2)},${thr[i]!.toFixed(1)}`);
    }
    w.write('bench.csv', `${rows.join('\n')}\n`);
    const json = await w.run(['regressions', '--input', 'bench.csv', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const scan = JSON.parse(json.stdout) as ScanJson;
    expect(scan.series.map((s) => s.metric)).toEqual(['latency_ms', 'throughput']);
    expect(scan.findings).toHaveLength(1);
    const f = scan.findings[0]!;
    expect(f.metric).toBe('latency_ms');
    expect(f.direction).toBe('higher');
    expect(f.attributes).toEqual({ commit: 'c25' });
    expect(f.change).toBeGreaterThan(0.25);
    expect(f.pValue).toBeLessThanOrEqual(0.001);

    const text = await w.run(['regressions', '--input', 'bench.csv']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^latency_ms {2}higher \+\d+\.\d% .* \(commit c25\)/m);
    expect(text.stdout).not.toMatch(/^throughput/m);
  });

  it('reads JSON lines with missing values and a chosen time field and metrics', async () => {
    const v = shiftedSeries({ seed: 8, length: 60, noise: 0.03, base: 50, shift: -0.2, at: 30 });
    const lines = v.map((x, i) =>
      JSON.stringify({
        ts: 1_767_225_600 + i * 3600,
        bench: 'parse',
        mb_s: i % 10 === 3 ? null : x,
        host: 'ci-1',
      }),
    );
    w.write('results.jsonl', `${lines.join('\n')}\n`);
    const r = await w.run([
      'regressions',
      '--input',
      'results.jsonl',
      '--time-column',
      'ts',
      '--metrics',
      'mb_s',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const scan = JSON.parse(r.stdout) as ScanJson;
    expect(scan.series).toEqual([{ metric: 'mb_s', points: 54 }]);
    expect(scan.findings.map((f) => [f.direction, f.line])).toEqual([['lower', 31]]);
  });

  it('bad input is located by line and column, exit 2, no stack trace', async () => {
    w.write('bad.csv', 'time,x\n2026-01-01,1\n2026-01-02,fast\n');
    const r = await w.run(['regressions', '--input', 'bad.csv', '--metrics', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.csv:3:12: "fast" in column "x" is not a number');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    const missing = await w.run(['regressions', '--input', 'bad.csv', '--time-column', 'when']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no time column "when"');
    const absent = await w.run(['regressions', '--input', 'nope.csv']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('cannot read --input nope.csv: ENOENT');
  });
});
