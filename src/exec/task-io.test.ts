/**
 * Disk I/O of a task's whole process tree, through the real local runner and real child
 * processes: what the task wrote and fsynced must show up whether the writer is the task's own
 * command, a child that exited long before the task, or a grandchild. Asserts counts, never time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProcIo } from '../util/io-counters.js';
import { LocalRunner, parseFinalReading } from './runner.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'slipway-task-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
const linux = process.platform === 'linux';

/** A node one-liner that writes `mib` MiB in 64 KiB writes to `file` and fsyncs it. */
function writer(file: string, mib: number): string {
  const js = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(file)},'w');const b=Buffer.alloc(65536,7);for(let i=0;i<${mib * 16};i++)fs.writeSync(fd,b);fs.fsyncSync(fd);fs.closeSync(fd);`;
  return `${JSON.stringify(process.execPath)} -e ${JSON.stringify(js)}`;
}

async function run(command: string) {
  const out: string[] = [];
  const r = await new LocalRunner().run({
    taskId: 't',
    command,
    cwd: dir,
    env: process.env,
    onOutput: (_s, t) => out.push(t),
  });
  return { ...r, output: out.join('') };
}

describe.runIf(linux)('disk I/O of a task', () => {
  it('counts a short writer that exits before any sample (the exit reading)', async () => {
    const r = await run(writer(path.join(dir, 'a.bin'), 3));
    expect(r.failure).toBeUndefined();
    expect(r.io).toBeDefined();
    // 48 writes of 64 KiB; wchar counts every byte through write(2) whatever the file system.
    expect(r.io!.writeOps).toBeGreaterThanOrEqual(48);
    expect(r.io!.writeChars).toBeGreaterThanOrEqual(3 * MiB);
    // The gate's own report never leaks into the task's output.
    expect(r.output).not.toMatch(/rchar|syscw/);
  });

  it('sums a child and a grandchild of the task, both gone when it ends', async () => {
    const cmd = `sh -c '${writer(path.join(dir, 'b.bin'), 2).replaceAll("'", `'\\''`)}; sh -c "true"'; ${writer(path.join(dir, 'c.bin'), 1)}; echo done`;
    const r = await run(cmd);
    expect(r.failure).toBeUndefined();
    expect(r.output).toContain('done');
    expect(r.io!.writeOps).toBeGreaterThanOrEqual(48);
    expect(r.io!.writeChars).toBeGreaterThanOrEqual(3 * MiB);
  });

  it('counts storage bytes where the file system accounts them (write_bytes)', async () => {
    // Containers on tmpfs or some overlay set-ups do not attribute writeback to processes: find
    // out with a shell of our own first, and only then hold the runner to it.
    const probe = await run(`${writer(path.join(dir, 'p.bin'), 1)}; cat /proc/$$/io`);
    const own = parseProcIo(probe.output);
    if (!own || own.writeBytes < MiB) return;
    const r = await run(writer(path.join(dir, 'd.bin'), 4));
    expect(r.io!.writeBytes).toBeGreaterThanOrEqual(4 * MiB);
  });

  it('still ends "by signal" when the command is killed, and keeps exit codes', async () => {
    const killed = await run('kill -TERM $$');
    expect(killed.failure).toEqual({ reason: 'signal', signal: 'SIGTERM' });
    const code = await run('exit 3');
    expect(code.failure).toEqual({ reason: 'exit-non-zero', code: 3 });
    expect(code.exitCode).toBe(3);
  });
});

describe('the exit reading', () => {
  it('parses the io lines and the stat line the gate writes', () => {
    const text =
      'rchar: 10\nwchar: 20\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 4096\n' +
      'stat 42 (sh) S 1 42 42 0 -1 4194560 1 2 0 0 5 6 70 80 20 0 1 0 100 2000 50\n';
    const r = parseFinalReading(text);
    expect(r?.ticks).toBe(5 + 6 + 70 + 80);
    expect(r?.io).toEqual({
      readBytes: 4096,
      writeBytes: 4096,
      readOps: 3,
      writeOps: 4,
      readChars: 10,
      writeChars: 20,
    });
    expect(parseFinalReading('')).toBeUndefined();
  });
});
