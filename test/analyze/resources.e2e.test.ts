/**
 * The resource metrics of issue 13 item 9 from the CLI: a task that writes and fsyncs 4 MiB
 * through a child process shows its I/O in `slipway report --json` (kept in the history, so a
 * later report still has it), the pool's memory utilization is there, and the text report has
 * the sections. Counts, not time.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AnalyticsReport } from '../../src/analyze/report.js';
import { pipelineYaml, type Workspace, workspace } from '../helpers/cli.js';
import { scratchPostgres } from '../helpers/postgres.js';

const postgres = scratchPostgres('resources');

const made: Workspace[] = [];
afterAll(() => {
  for (const w of made) w.cleanup();
});

const MiB = 1024 * 1024;
const WRITE = `const fs=require('fs');const fd=fs.openSync('out.bin','w');const b=Buffer.alloc(65536,1);for(let i=0;i<64;i++)fs.writeSync(fd,b);fs.fsyncSync(fd);fs.closeSync(fd)`;

describe.runIf(process.platform === 'linux')('disk I/O and pool memory in the report', () => {
  it('records what a task tree wrote and shows it', async () => {
    const ws = workspace(
      pipelineYaml({
        // The writer is a grandchild of the task's shell and exits long before the task does.
        write: { run: `sh -c "node -e \\"${WRITE}\\"" && echo written`, cache: false },
        idle: { run: 'true', needs: ['write'], cache: false },
      }),
    );
    made.push(ws);
    const run = await ws.run(['run']);
    expect(run.code, run.stderr).toBe(0);
    const r = await ws.run(['report', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as AnalyticsReport;
    const write = report.resources.io.tasks.find((t) => t.id === 'write');
    expect(write).toBeDefined();
    expect(write!.writeOps).toBeGreaterThanOrEqual(64);
    expect(write!.writeChars).toBeGreaterThanOrEqual(4 * MiB);
    expect(report.resources.poolMemory?.runs).toBe(1);
    expect(report.resources.poolMemory?.latest?.peakBytes).toBeGreaterThan(0);
    const text = await ws.run(['report']);
    expect(text.stdout).toMatch(/Disk I\/O per task/);
    expect(text.stdout).toMatch(/^ {2}write +\S+ \S+ +\S+ +\S+ +\d+ +\d+ +1$/m);
    expect(text.stdout).toMatch(/Pool memory {2}latest run peak/);
    expect(text.stdout).toMatch(/Growth \(1 run over less than a day/);
    expect(text.stdout).toMatch(/too little history for a trend/);
  });

  it('keeps the same metrics in PostgreSQL', async (ctx) => {
    const url = await postgres();
    if (!url) return ctx.skip();
    const ws = workspace(pipelineYaml({ write: { run: `node -e "${WRITE}"`, cache: false } }));
    made.push(ws);
    expect((await ws.run(['--store', url, 'run'])).code).toBe(0);
    const r = await ws.run(['--store', url, 'report', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as AnalyticsReport;
    expect(report.resources.io.tasks[0]).toMatchObject({ id: 'write', executions: 1 });
    expect(report.resources.io.tasks[0]!.writeChars).toBeGreaterThanOrEqual(4 * MiB);
    expect(report.resources.poolMemory?.runs).toBe(1);
    expect(report.appValidation).toEqual([]);
  });
});
